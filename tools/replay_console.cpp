// SPDX-License-Identifier: Apache-2.0
// kafka_log_spool replay's console: a progress bar or progress lines, and rate-limited lines.
#include "replay_console.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "spool_tool_output.hpp"

namespace kafka_log::spool_tool {

namespace {

/// `12.3 MB`
std::string megabytes(double bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MB", bytes / 1e6);
    return text;
}

/// `2:03`, `1:02:03`, or `--:--` when unknown.
std::string duration_text(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e7) return "--:--";
    const auto s = static_cast<unsigned long long>(std::llround(seconds));
    char text[48];
    if (s >= 3600) {
        std::snprintf(text, sizeof text, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
    } else {
        std::snprintf(text, sizeof text, "%llu:%02llu", s / 60, s % 60);
    }
    return text;
}

}  // namespace

ReplayConsole::~ReplayConsole() {
    try {
        finish();
    } catch (...) {
    }
}

void ReplayConsole::start(std::uint64_t total, std::function<SpoolDrainStats()> stats) {
    std::unique_lock lock(mutex_);
    total_ = total;
    stats_ = std::move(stats);
    started_ = last_line_ = steady::now();
    running_ = true;
    if (terminal_) {
        draw_locked(stats_(), false);
    } else {
        put_locked(std::string(program) + ": replaying " + std::to_string(total) + " records\n");
    }
    lock.unlock();
    ticker_ = std::thread([this] { tick(); });
}

void ReplayConsole::finish() {
    {
        std::lock_guard lock(mutex_);
        if (!running_) return;
        running_ = false;
    }
    wake_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    std::lock_guard lock(mutex_);
    draw_locked(stats_(), true);
    if (terminal_) put_locked("\n");
    bar_ = 0;
}

void ReplayConsole::message(std::string_view text, std::string_view unless_logged) noexcept {
    try {
        std::lock_guard lock(mutex_);
        if (!unless_logged.empty() && last_message_.ends_with(unless_logged)) return;
        last_message_ = text;
        const auto now = steady::now();
        if (now - window_ >= std::chrono::seconds(1)) {
            window_ = now;
            if (suppressed_ != 0) {
                clear_bar_locked();
                put_locked(std::string(program) + ": (" + std::to_string(suppressed_) +
                           " librdkafka lines not shown)\n");
            }
            in_window_ = 0;
            suppressed_ = 0;
        }
        if (++in_window_ > 10) {
            ++suppressed_;
            return;
        }
        clear_bar_locked();
        put_locked(std::string(program) + ": " + std::string(text) + "\n");
        if (running_ && terminal_) draw_locked(stats_(), false);  // the bar again, below the line
    } catch (...) {
        // No memory for a log line: not worth failing the replay.
    }
}

void ReplayConsole::tick() {
    std::unique_lock lock(mutex_);
    const auto period = terminal_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(100);
    while (!wake_.wait_for(lock, period, [this] { return !running_; })) {
        const SpoolDrainStats now = stats_();
        if (terminal_ || now.replayed >= last_replayed_ + 10000 ||
            steady::now() - last_line_ >= std::chrono::seconds(5)) {
            draw_locked(now, false);
        }
    }
}

void ReplayConsole::draw_locked(const SpoolDrainStats& s, bool done) {
    const double elapsed = std::chrono::duration<double>(steady::now() - started_).count();
    const std::uint64_t left = total_ > s.replayed ? total_ - s.replayed : 0;
    const double per_second = elapsed > 0 ? static_cast<double>(s.replayed) / elapsed : 0;
    const std::string eta = left == 0        ? duration_text(0)
                            : per_second > 0 ? duration_text(static_cast<double>(left) / per_second)
                                             : duration_text(-1);
    const std::string rate =
        megabytes(elapsed > 0 ? static_cast<double>(s.sent_bytes) / elapsed : 0) + "/s";
    std::string text = std::to_string(s.replayed) + "/" + std::to_string(total_) + " records";
    if (s.failures != 0) text += ", failed " + std::to_string(s.failures);
    last_replayed_ = s.replayed;
    last_line_ = steady::now();
    if (!terminal_) {
        put_locked(std::string(program) + ": " + (done ? "done: replayed " : "replayed ") + text +
                   ", " + rate + ", ETA " + eta + "\n");
        return;
    }
    constexpr std::size_t width = 30;
    const std::size_t filled =
        total_ == 0 ? width
                    : static_cast<std::size_t>(static_cast<double>(width) *
                                               static_cast<double>(std::min(s.replayed, total_)) /
                                               static_cast<double>(total_));
    std::string line = "\r[" + std::string(filled, '#') + std::string(width - filled, '.') + "] " +
                       text + "  " + rate + "  ETA " + eta;
    const std::size_t length = line.size();
    if (length < bar_) line.append(bar_ - length, ' ');  // wipe a longer earlier bar
    bar_ = length;
    put_locked(line);
}

void ReplayConsole::clear_bar_locked() {
    if (!terminal_ || bar_ == 0) return;
    put_locked("\r" + std::string(bar_, ' ') + "\r");
    bar_ = 0;
}

void ReplayConsole::put_locked(const std::string& text) {
    [[maybe_unused]] const std::size_t n = std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
}

}  // namespace kafka_log::spool_tool
