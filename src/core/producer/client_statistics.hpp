// SPDX-License-Identifier: Apache-2.0
#pragma once

// parse_client_statistics: the few figures kafka_log keeps from one of librdkafka's
// statistics documents (the JSON its stats_cb receives every `statistics.interval.ms`): the
// producer queue's depth and the brokers' round trip. A minimal JSON reader, no library: it
// checks the whole document's syntax (so a truncated or garbled one is refused, not half
// read), keeps four numbers and skips the rest. Any input is safe: no exception, recursion
// bounded by max_depth, no read past the view.
//
// Thread safety: a pure function.

#include <cstdint>
#include <optional>
#include <string_view>

namespace kafka_log::detail {

struct ParsedStatistics {
    std::uint64_t queue_records = 0;      // top-level "msg_cnt"
    std::uint64_t queue_bytes = 0;        // top-level "msg_size"
    std::uint64_t broker_rtt_avg_us = 0;  // max over "brokers" of "rtt"."avg" (microseconds)
    std::uint64_t broker_rtt_p99_us = 0;  // max over "brokers" of "rtt"."p99" (microseconds)
};

/// Nesting deeper than this is refused (librdkafka's documents nest 5 levels).
inline constexpr int statistics_max_depth = 32;

/// The figures of `json`, or nothing when it is not one well-formed JSON object. A missing
/// field reads 0; a negative or fractional number is clamped/truncated to an unsigned integer.
std::optional<ParsedStatistics> parse_client_statistics(std::string_view json) noexcept;

}  // namespace kafka_log::detail
