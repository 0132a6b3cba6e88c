// SPDX-License-Identifier: Apache-2.0
#include "client_diagnostics.hpp"

#include <unistd.h>

#include <utility>

#include "../../detail/secret_scrub.hpp"

namespace kafka_log::detail {

bool LineRateLimit::admit(Clock::time_point now, std::uint64_t& suppressed) noexcept {
    suppressed = 0;
    if (now - window_start_ >= std::chrono::seconds(1)) {
        suppressed = suppressed_;
        window_start_ = now;
        printed_ = 0;
        suppressed_ = 0;
    }
    if (printed_ >= per_second) {
        ++suppressed_;
        return false;
    }
    ++printed_;
    return true;
}

ClientDiagnostics::ClientDiagnostics(LogCallback log_callback, ErrorCallback error_callback,
                                     const ProducerConfig& config)
    : log_callback_(std::move(log_callback)),
      error_callback_(std::move(error_callback)),
      config_(config) {}

void ClientDiagnostics::log_line(int level, std::string_view facility,
                                 std::string_view line) noexcept {
    try {
        if (log_callback_) {
            log_callback_(level, facility, line);
        } else {
            print("kafka_log: librdkafka[" + std::to_string(level) + "] " + std::string(facility) +
                  ": " + scrub_config(std::string(line), config_, min_value_in_lines));
        }
    } catch (...) {
    }
}

void ClientDiagnostics::client_error(int code, std::string_view name,
                                     std::string_view reason) noexcept {
    try {
        if (error_callback_) {
            error_callback_(code, reason);
        } else {
            print("kafka_log: librdkafka error " + std::string(name) + ": " +
                  scrub_config(std::string(reason), config_, min_value_in_lines));
        }
    } catch (...) {
    }
}

void ClientDiagnostics::print(std::string_view text) {
    std::string line;
    {
        std::lock_guard lock(stderr_mutex_);
        std::uint64_t suppressed = 0;
        const bool admitted = stderr_limit_.admit(LineRateLimit::Clock::now(), suppressed);
        if (suppressed > 0) {
            line =
                "kafka_log: " + std::to_string(suppressed) + " librdkafka message(s) suppressed\n";
        }
        if (!admitted) return;
    }
    line.append(text);
    line.push_back('\n');
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace kafka_log::detail
