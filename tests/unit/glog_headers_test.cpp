// SPDX-License-Identifier: Apache-2.0
// GlogSinkOptions::source_headers: each glog line carries severity, file and line headers.
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "glog_support.hpp"
#include "kafka_log/glog/glog_kafka_sink.hpp"
#include "kafka_log/mocks/mock_async_producer.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "spool_support.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

using mocks::MockAsyncProducer;
using mocks::ProducedMessage;
using test::Balanced;
using ::testing::ElementsAre;
using ::testing::Pair;

using namespace std::chrono_literals;

TEST(GlogHeadersTest, SourceHeadersNameTheSeverityFileAndLineOfEachLine) {
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_succeed().expect_input_and_succeed();
    std::ostringstream text;
    auto writer = std::make_shared<KafkaWriter>(producer, std::make_shared<StreamFallback>(text),
                                                WriterOptions{.topic = "glog"});
    GlogKafkaSink sink(writer, GlogSinkOptions{.source_headers = true});
    int warning_line = 0;
    int error_line = 0;
    {
        ScopedGlogSink scoped(sink);
        warning_line = __LINE__ + 1;
        LOG(WARNING) << "disk at 91%";
        error_line = __LINE__ + 1;
        LOG(ERROR) << "disk full";
    }
    writer->close(0ms);
    const std::vector<ProducedMessage> produced = producer->produced();
    ASSERT_EQ(produced.size(), 2u);
    EXPECT_THAT(produced[0].headers,
                ElementsAre(Pair("severity", "warning"), Pair("file", "glog_headers_test.cpp"),
                            Pair("line", std::to_string(warning_line))));
    EXPECT_THAT(produced[1].headers,
                ElementsAre(Pair("severity", "error"), Pair("file", "glog_headers_test.cpp"),
                            Pair("line", std::to_string(error_line))));
    // The same values as the JSON record's fields.
    const auto j = nlohmann::json::parse(produced[1].payload);
    EXPECT_EQ(j["level"], *produced[1].header("severity"));
    EXPECT_EQ(j["file"], *produced[1].header("file"));
    EXPECT_EQ(std::to_string(j["line"].get<int>()), *produced[1].header("line"));
    EXPECT_TRUE(Balanced(writer->stats()));
    EXPECT_EQ(writer->stats().delivered, 2u);
}

TEST(GlogHeadersTest, WithoutTheOptionLinesHaveNoHeaders) {
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_succeed();
    std::ostringstream text;
    auto writer = std::make_shared<KafkaWriter>(producer, std::make_shared<StreamFallback>(text),
                                                WriterOptions{.topic = "glog"});
    GlogKafkaSink sink(writer);
    {
        ScopedGlogSink scoped(sink);
        LOG(INFO) << "plain";
    }
    writer->close(0ms);
    const std::vector<ProducedMessage> produced = producer->produced();
    ASSERT_EQ(produced.size(), 1u);
    EXPECT_TRUE(produced[0].headers.empty());
}

TEST(GlogHeadersTest, ALineKafkaDoesNotTakeKeepsItsHeadersInTheSpool) {
    test::TempDir tmp;
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_reject(ProduceStatus::queue_full);
    auto writer = std::make_shared<KafkaWriter>(
        producer, std::make_shared<SpoolFallback>(tmp / "spool", SpoolOptions{.replay_rate = 0}),
        WriterOptions{.topic = "glog"});
    GlogKafkaSink sink(writer, GlogSinkOptions{.source_headers = true});
    int line = 0;
    {
        ScopedGlogSink scoped(sink);
        line = __LINE__ + 1;
        LOG(INFO) << "to the spool";
    }
    writer->close(0ms);
    EXPECT_TRUE(Balanced(writer->stats()));
    const std::vector<SpoolRecord> records = test::read_spool_records(tmp / "spool");
    ASSERT_EQ(records.size(), 1u);
    EXPECT_THAT(records[0].headers,
                ElementsAre(Pair("severity", "info"), Pair("file", "glog_headers_test.cpp"),
                            Pair("line", std::to_string(line))));
}

}  // namespace
}  // namespace kafka_log
