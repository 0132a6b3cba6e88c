// SPDX-License-Identifier: Apache-2.0
// ClientDiagnostics: librdkafka's lines reach the user's callbacks unchanged, or stderr with
// secrets scrubbed; LineRateLimit lets 10 lines a second through and counts the rest.

#include "../../src/core/producer/client_diagnostics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace kafka_log::detail {
namespace {

using namespace std::chrono_literals;

TEST(LineRateLimitTest, AdmitsTenLinesASecondAndCountsTheRest) {
    LineRateLimit limit;
    const auto start = LineRateLimit::Clock::now();
    std::uint64_t suppressed = 0;
    int admitted = 0;
    for (int i = 0; i < 15; ++i)
        admitted += limit.admit(start + std::chrono::milliseconds(i), suppressed) ? 1 : 0;
    EXPECT_EQ(admitted, LineRateLimit::per_second);
    EXPECT_EQ(suppressed, 0u) << "the window goes on";
    EXPECT_TRUE(limit.admit(start + 1500ms, suppressed)) << "a new window";
    EXPECT_EQ(suppressed, 5u) << "the refused lines of the last window are announced";
    EXPECT_TRUE(limit.admit(start + 1501ms, suppressed));
    EXPECT_EQ(suppressed, 0u) << "announced once";
}

TEST(ClientDiagnosticsTest, LinesAndErrorsReachTheUsersCallbacks) {
    std::vector<std::string> lines;
    const ProducerConfig config{{"bootstrap.servers", "b:9092"}};
    ClientDiagnostics diagnostics(
        [&](int level, std::string_view facility, std::string_view line) {
            lines.push_back(std::to_string(level) + " " + std::string(facility) + " " +
                            std::string(line));
        },
        [&](int code, std::string_view reason) {
            lines.push_back("error " + std::to_string(code) + " " + std::string(reason));
        },
        config);
    diagnostics.log_line(6, "CONNECT", "connecting");
    diagnostics.client_error(-187, "_ALL_BROKERS_DOWN", "all down");
    EXPECT_EQ(lines, (std::vector<std::string>{"6 CONNECT connecting", "error -187 all down"}));
}

TEST(ClientDiagnosticsTest, WithoutCallbacksLinesGoToStderrWithoutSecrets) {
    const ProducerConfig config{{"bootstrap.servers", "b:9092"},
                                {"sasl.password", "hunter22secret"}};
    ClientDiagnostics diagnostics({}, {}, config);
    testing::internal::CaptureStderr();
    diagnostics.log_line(3, "SASL", "auth failed with hunter22secret");
    diagnostics.client_error(-195, "_TRANSPORT", "broker hunter22secret down");
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("kafka_log: librdkafka[3] SASL: auth failed with ***"), std::string::npos)
        << err;
    EXPECT_NE(err.find("kafka_log: librdkafka error _TRANSPORT: broker *** down"),
              std::string::npos)
        << err;
    EXPECT_EQ(err.find("hunter22secret"), std::string::npos) << err;
}

TEST(ClientDiagnosticsTest, ACallbackThatThrowsIsContained) {
    const ProducerConfig config{{"bootstrap.servers", "b:9092"}};
    ClientDiagnostics diagnostics([](int, std::string_view, std::string_view) { throw 1; },
                                  [](int, std::string_view) { throw 2; }, config);
    diagnostics.log_line(7, "X", "y");
    diagnostics.client_error(1, "N", "r");
    SUCCEED() << "nothing escaped";
}

}  // namespace
}  // namespace kafka_log::detail
