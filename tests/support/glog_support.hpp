// SPDX-License-Identifier: Apache-2.0
#pragma once

// glog set up once per test program: no log files, nothing below FATAL on stderr, so that
// only our sinks see the lines.

#include <glog/logging.h>
#include <gtest/gtest.h>

namespace kafka_log::test {

class GlogEnvironment final : public ::testing::Environment {
public:
    void SetUp() override {
        if (!google::IsGoogleLoggingInitialized()) google::InitGoogleLogging("kafka_log_tests");
        FLAGS_logtostderr = false;
        FLAGS_alsologtostderr = false;
        FLAGS_stderrthreshold = google::GLOG_FATAL;
        for (int s = google::GLOG_INFO; s < google::NUM_SEVERITIES; ++s)
            google::SetLogDestination(s, "");
    }
};

/// Registers the environment once, from any test file that includes this header.
inline ::testing::Environment* const glog_environment =
    ::testing::AddGlobalTestEnvironment(new GlogEnvironment);

}  // namespace kafka_log::test
