// SPDX-License-Identifier: Apache-2.0
#pragma once

// ClientDiagnostics: where librdkafka's own log lines and client-level errors go: to the
// user's callbacks (RdKafkaOptions::log_callback / error_callback), or else to stderr, at most
// LineRateLimit::per_second lines a second, with the configuration's secrets scrubbed.
//
// Thread safety: every member may be called from any thread (librdkafka's callbacks come from
// the poll thread; the stderr limit has its own lock).

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "kafka_log/producer_config.hpp"
#include "kafka_log/rdkafka_producer.hpp"

namespace kafka_log::detail {

/// At most `per_second` lines in each one-second window; the rest are counted and the count
/// is announced with the first line of a later window.
class LineRateLimit {
public:
    static constexpr int per_second = 10;
    using Clock = std::chrono::steady_clock;

    /// Whether a line offered at `now` may be printed; `suppressed` receives the number of
    /// lines refused in the window that just ended (0 if none, or the window goes on).
    bool admit(Clock::time_point now, std::uint64_t& suppressed) noexcept;

private:
    Clock::time_point window_start_{};
    int printed_ = 0;
    std::uint64_t suppressed_ = 0;
};

class ClientDiagnostics {
public:
    /// `config`: the effective configuration, whose secret values are scrubbed from stderr
    /// lines; it must outlive this object.
    ClientDiagnostics(LogCallback log_callback, ErrorCallback error_callback,
                      const ProducerConfig& config);

    ClientDiagnostics(const ClientDiagnostics&) = delete;
    ClientDiagnostics& operator=(const ClientDiagnostics&) = delete;

    /// One librdkafka log line (syslog level). Never throws.
    void log_line(int level, std::string_view facility, std::string_view line) noexcept;
    /// One client-level error; `name` is librdkafka's name of `code`. Never throws.
    void client_error(int code, std::string_view name, std::string_view reason) noexcept;

private:
    void print(std::string_view text);

    const LogCallback log_callback_;
    const ErrorCallback error_callback_;
    const ProducerConfig& config_;
    std::mutex stderr_mutex_;
    LineRateLimit stderr_limit_;  // guarded by stderr_mutex_
};

}  // namespace kafka_log::detail
