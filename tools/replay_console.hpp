// SPDX-License-Identifier: Apache-2.0
#pragma once
// kafka_log_spool replay's console: progress and librdkafka's lines on stderr.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "kafka_log/spool_drain.hpp"

namespace kafka_log::spool_tool {

using steady = std::chrono::steady_clock;

/// Everything a replay prints on stderr while it runs: its progress — on a terminal one bar
/// redrawn in place with `\r`, otherwise a plain line every 10 000 records or 5 s — and
/// librdkafka's log and error lines (at most 10 a second), which never land inside the bar.
///
/// Thread safety: `message` may be called from any thread (librdkafka's lines come from the
/// producer's thread); the rest from the thread that made it.
class ReplayConsole {
public:
    explicit ReplayConsole(bool terminal) : terminal_(terminal) {}
    ReplayConsole(const ReplayConsole&) = delete;
    ReplayConsole& operator=(const ReplayConsole&) = delete;
    ~ReplayConsole();

    /// Starts showing progress towards `total` records, reading the counters from `stats`.
    void start(std::uint64_t total, std::function<SpoolDrainStats()> stats);

    /// Stops the progress and shows the final counters (ending the bar's line).
    void finish();

    /// One line of its own (librdkafka's log), at most 10 a second. With `unless_logged`, the
    /// line is left out when the last line ended with that text (librdkafka reports most client
    /// errors both as a log line and as an error).
    void message(std::string_view text, std::string_view unless_logged = {}) noexcept;

private:
    void tick();
    /// `12345/50000 records`, the rate and the ETA; `done` after the last pass.
    void draw_locked(const SpoolDrainStats& s, bool done);
    void clear_bar_locked();
    static void put_locked(const std::string& text);

    const bool terminal_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::thread ticker_;
    bool running_ = false;
    std::uint64_t total_ = 0;
    std::function<SpoolDrainStats()> stats_;
    steady::time_point started_{};
    steady::time_point last_line_{};
    std::uint64_t last_replayed_ = 0;
    std::size_t bar_ = 0;  // length of the bar on screen (terminal), 0: none
    steady::time_point window_{};
    unsigned in_window_ = 0;
    std::uint64_t suppressed_ = 0;
    std::string last_message_;
};

}  // namespace kafka_log::spool_tool
