// SPDX-License-Identifier: Apache-2.0
#pragma once

// StatisticsRelay: librdkafka's statistics documents (stats_cb, every `statistics.interval.ms`)
// taken off the poll thread. The poll thread only copies the newest document into a one-slot
// mailbox (a document the relay has not taken yet is replaced: the newest wins); the relay's
// own thread reads the figures kafka_log keeps (parse_client_statistics) and then calls the
// user's callback, so a slow or throwing callback never delays a delivery report. Exceptions
// from the callback are caught and counted; the first one is printed to stderr.
//
// Thread safety: offer() from the poll thread, stats() from any thread. The thread exists only
// when statistics are enabled; the destructor joins it.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "kafka_log/async_producer.hpp"
#include "kafka_log/rdkafka_producer.hpp"

namespace kafka_log::detail {

class StatisticsRelay {
public:
    /// `enabled`: statistics are on (`statistics.interval.ms` > 0); else no thread is started
    /// and offer() is never called.
    StatisticsRelay(StatisticsCallback callback, bool enabled);
    ~StatisticsRelay();

    StatisticsRelay(const StatisticsRelay&) = delete;
    StatisticsRelay& operator=(const StatisticsRelay&) = delete;

    /// True when `statistics.interval.ms` in `config` is a positive number.
    static bool enabled_by(const ProducerConfig& config);

    bool enabled() const noexcept { return thread_.joinable(); }
    /// One document from librdkafka; copies it. Never throws, never waits for the callback.
    void offer(std::string_view json) noexcept;
    /// The figures of the newest document read, and the counts.
    ClientStats stats() const noexcept;

private:
    void run() noexcept;
    void take(const std::string& json) noexcept;

    const StatisticsCallback callback_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::string pending_;  // guarded by mutex_
    bool has_pending_ = false;
    bool stop_ = false;
    std::atomic<std::uint64_t> reports_{0};
    std::atomic<std::uint64_t> malformed_{0};
    std::atomic<std::uint64_t> callback_failures_{0};
    std::atomic<std::uint64_t> queue_records_{0};
    std::atomic<std::uint64_t> queue_bytes_{0};
    std::atomic<std::uint64_t> rtt_avg_us_{0};
    std::atomic<std::uint64_t> rtt_p99_us_{0};
    std::thread thread_;  // last: started once everything above exists
};

}  // namespace kafka_log::detail
