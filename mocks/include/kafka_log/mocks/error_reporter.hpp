// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief Where the mocks report a broken expectation.

#include <string_view>

namespace kafka_log::mocks {

/// \brief Receives the mocks' complaints: unexpected inputs, failed checkers, expectations
/// left unused. The mocks keep going after a report, so no record is lost because of it.
///
/// Thread safety: `report` may be called from any thread, including a mock's own thread.
class ErrorReporter {
public:
    virtual ~ErrorReporter();
    /// \brief One complaint; `file`/`line` name the test line it is about.
    virtual void report(std::string_view message, const char* file, int line) = 0;
};

/// \brief The default reporter: a non-fatal GoogleTest failure (`ADD_FAILURE_AT`) at
/// `file:line`. Needs a running GoogleTest program.
ErrorReporter& gtest_reporter();

}  // namespace kafka_log::mocks
