// SPDX-License-Identifier: Apache-2.0
#pragma once

// Helpers shared by kafka_log's tests: temporary directories, reading fallback files back,
// and the no-loss identity as a GoogleTest assertion.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kafka_log/kafka_writer.hpp"

namespace kafka_log {

inline void PrintTo(const WriterStats& s, std::ostream* os) {
    *os << "{submitted=" << s.submitted << " delivered=" << s.delivered
        << " in_flight=" << s.in_flight << " lost=" << s.lost
        << " fallback_queue_full=" << s.fallback_queue_full
        << " fallback_too_large=" << s.fallback_too_large
        << " fallback_delivery_failed=" << s.fallback_delivery_failed
        << " fallback_closed=" << s.fallback_closed
        << " fallback_unreachable=" << s.fallback_unreachable
        << " fallback_reentrant=" << s.fallback_reentrant
        << " possibly_persisted=" << s.possibly_persisted << "}";
}

namespace test {

/// The no-loss identity: submitted == delivered + fallback_* + lost + in_flight.
inline ::testing::AssertionResult Balanced(const WriterStats& s) {
    const std::uint64_t sum = s.delivered + s.fallback_total() + s.lost + s.in_flight;
    std::ostringstream text;
    PrintTo(s, &text);
    if (sum == s.submitted) return ::testing::AssertionSuccess() << text.str();
    return ::testing::AssertionFailure()
           << "no-loss identity broken: submitted=" << s.submitted << " but delivered + fallback + "
           << "lost + in_flight = " << sum << " in " << text.str();
}

/// A fresh directory under the system's temp dir, removed with its contents at the end.
class TempDir {
public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "kafka_log_test_XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

/// Every line of a file (without the newline).
inline std::vector<std::string> read_lines(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

/// Every line of a string (without the newline).
inline std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

/// Polls `condition` until it holds or `deadline` passes; true when it held. For waiting on
/// real asynchrony (a producer thread) with a deadline, never a fixed sleep.
inline bool wait_until(const std::function<bool()>& condition,
                       std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= end) return condition();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // poll interval
    }
    return true;
}

}  // namespace test
}  // namespace kafka_log
