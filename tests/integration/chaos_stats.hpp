// SPDX-License-Identifier: Apache-2.0
#pragma once

// The counters kafka_log_chaos_child publishes every 50 ms into its counts file (after the
// threads' slots), so that a test still has a killed child's last figures: its writer's, its
// spool's and its drain's. The layout both sides read: `chaos_stats_offset(threads)` bytes in,
// one std::uint64_t per name of `chaos_stat_names`, in that order; the first, `updates`, counts
// the publications (0: none yet).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace kafka_log::test {

inline constexpr std::array<const char*, 31> chaos_stat_names{"updates",
                                                              "submitted",
                                                              "delivered",
                                                              "in_flight",
                                                              "lost",
                                                              "fallback_queue_full",
                                                              "fallback_too_large",
                                                              "fallback_delivery_failed",
                                                              "fallback_closed",
                                                              "fallback_unreachable",
                                                              "fallback_reentrant",
                                                              "possibly_persisted",
                                                              "spooled",
                                                              "journal_open",
                                                              "replayed",
                                                              "replay_failures",
                                                              "breaker_open",
                                                              "spool_records",
                                                              "spool_refused_full",
                                                              "spool_refused_error",
                                                              "spool_lost_after_write",
                                                              "spool_segments",
                                                              "spool_replayed",
                                                              "spool_found",
                                                              "spool_journaled",
                                                              "spool_settled",
                                                              "spool_journal_refused",
                                                              "drain_in_flight",
                                                              "drain_corrupt",
                                                              "drain_segments_deleted",
                                                              "drain_passes"};

/// Where the published counters start in a counts file of `threads` threads.
constexpr std::size_t chaos_stats_offset(int threads) {
    return 64 * static_cast<std::size_t>(threads);
}

/// The size of a counts file of `threads` threads, the published counters included.
constexpr std::size_t chaos_counts_bytes(int threads) {
    return chaos_stats_offset(threads) + chaos_stat_names.size() * sizeof(std::uint64_t);
}

/// The published counters as one line `name=value ...` (`values` in the names' order).
inline std::string chaos_stats_line(const std::uint64_t* values) {
    std::string out;
    for (std::size_t i = 0; i < chaos_stat_names.size(); ++i) {
        if (i > 0) out += ' ';
        out += chaos_stat_names[i];
        out += '=';
        out += std::to_string(values[i]);
    }
    return out;
}

}  // namespace kafka_log::test
