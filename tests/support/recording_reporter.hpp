// SPDX-License-Identifier: Apache-2.0
#pragma once

// A mocks::ErrorReporter that records instead of failing the test, so the mock's own tests
// can prove that it reports misuse.

#include <mutex>
#include <string>
#include <vector>

#include "kafka_log/mocks/error_reporter.hpp"

namespace kafka_log::test {

struct Report {
    std::string message;
    std::string file;
    int line = 0;
};

class RecordingReporter final : public mocks::ErrorReporter {
public:
    void report(std::string_view message, const char* file, int line) override {
        std::lock_guard lock(mutex_);
        reports_.push_back(Report{std::string(message), file ? file : "", line});
    }
    std::vector<Report> reports() const {
        std::lock_guard lock(mutex_);
        return reports_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<Report> reports_;
};

}  // namespace kafka_log::test
