// SPDX-License-Identifier: Apache-2.0
#include "statistics_relay.hpp"

#include <pthread.h>
#include <unistd.h>

#include <exception>
#include <utility>

#include "client_statistics.hpp"

namespace kafka_log::detail {

StatisticsRelay::StatisticsRelay(StatisticsCallback callback, bool enabled)
    : callback_(std::move(callback)) {
    if (enabled) thread_ = std::thread([this] { run(); });
}

StatisticsRelay::~StatisticsRelay() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

bool StatisticsRelay::enabled_by(const ProducerConfig& config) {
    const auto value = config.get("statistics.interval.ms");
    if (!value) return false;
    try {
        return std::stol(*value) > 0;
    } catch (...) {
        return false;  // librdkafka refuses such a value before we get here
    }
}

void StatisticsRelay::offer(std::string_view json) noexcept {
    try {
        {
            std::lock_guard lock(mutex_);
            pending_.assign(json);
            has_pending_ = true;
        }
        wake_.notify_one();
    } catch (...) {
        // No memory for the copy: this document is skipped, the next one may fit.
    }
}

ClientStats StatisticsRelay::stats() const noexcept {
    ClientStats out;
    out.reports = reports_.load(std::memory_order_relaxed);
    out.malformed_reports = malformed_.load(std::memory_order_relaxed);
    out.callback_failures = callback_failures_.load(std::memory_order_relaxed);
    out.queue_records = queue_records_.load(std::memory_order_relaxed);
    out.queue_bytes = queue_bytes_.load(std::memory_order_relaxed);
    out.broker_rtt_avg_us = rtt_avg_us_.load(std::memory_order_relaxed);
    out.broker_rtt_p99_us = rtt_p99_us_.load(std::memory_order_relaxed);
    return out;
}

void StatisticsRelay::run() noexcept {
    ::pthread_setname_np(::pthread_self(), "kafka_log:stats");
    std::string document;
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [&] { return stop_ || has_pending_; });
        if (!has_pending_) return;  // stopping, nothing left
        document.swap(pending_);
        has_pending_ = false;
        lock.unlock();
        take(document);
        lock.lock();
    }
}

void StatisticsRelay::take(const std::string& json) noexcept {
    if (const auto parsed = parse_client_statistics(json)) {
        queue_records_.store(parsed->queue_records, std::memory_order_relaxed);
        queue_bytes_.store(parsed->queue_bytes, std::memory_order_relaxed);
        rtt_avg_us_.store(parsed->broker_rtt_avg_us, std::memory_order_relaxed);
        rtt_p99_us_.store(parsed->broker_rtt_p99_us, std::memory_order_relaxed);
        reports_.fetch_add(1, std::memory_order_relaxed);
    } else {
        malformed_.fetch_add(1, std::memory_order_relaxed);
    }
    if (!callback_) return;
    std::string what;
    try {
        callback_(json);
        return;
    } catch (const std::exception& e) {
        try {
            what = e.what();
        } catch (...) {
        }
    } catch (...) {
        what = "an exception not derived from std::exception";
    }
    if (callback_failures_.fetch_add(1, std::memory_order_relaxed) != 0) return;
    try {
        const std::string line = "kafka_log: RdKafkaOptions::stats_callback threw: " + what +
                                 " (later failures are only counted: "
                                 "ClientStats::callback_failures)\n";
        [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    } catch (...) {
    }
}

}  // namespace kafka_log::detail
