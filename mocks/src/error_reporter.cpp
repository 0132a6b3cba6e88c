// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/mocks/error_reporter.hpp"

#include <gtest/gtest.h>

namespace kafka_log::mocks {

ErrorReporter::~ErrorReporter() = default;

namespace {

class GTestReporter final : public ErrorReporter {
public:
    void report(std::string_view message, const char* file, int line) override {
        ADD_FAILURE_AT(file, line) << message;
    }
};

}  // namespace

ErrorReporter& gtest_reporter() {
    static GTestReporter reporter;
    return reporter;
}

}  // namespace kafka_log::mocks
