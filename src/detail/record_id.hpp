// SPDX-License-Identifier: Apache-2.0
#pragma once

// Record ids: `host-pid-sequence`, unique per process and across hosts, so a consumer can drop
// the duplicates a retry makes (an Elasticsearch document id, say).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kafka_log::detail {

/// \brief The process's record ids. A thread takes its ids from the process-wide sequence a
/// block at a time, so logging threads do not bounce the sequence's cache line between them:
/// ids are unique, not ordered across threads. A forked child names its own pid, and its
/// threads take fresh blocks (a pthread_atfork handler).
///
/// Thread safety: every member may be called from any thread.
class RecordIds {
public:
    /// The one instance, made on first use.
    static RecordIds& instance() {
        static RecordIds ids;
        return ids;
    }

    /// Bytes write() may write.
    std::size_t room() const noexcept { return prefix_.size() + 2 + 20; }
    /// Writes the next id at `at` (room() bytes), in double quotes when `quoted`, and returns
    /// the end of the text. The host name is escaped for a JSON string.
    char* write(char* at, bool quoted) noexcept;
    /// The next id as text, unquoted.
    std::string next_id();
    /// The next number of the sequence that follows `host-pid-`.
    std::uint64_t next() noexcept;

private:
    RecordIds();
    void make_prefix();
    void after_fork_in_child() noexcept;

    static constexpr std::uint64_t block = 1024;

    std::string prefix_;  // `host-pid-`, escaped for JSON
    std::atomic<std::uint64_t> sequence_{0};
    std::atomic<std::uint64_t> generation_{0};
};

}  // namespace kafka_log::detail
