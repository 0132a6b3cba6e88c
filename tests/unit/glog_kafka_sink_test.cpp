// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/glog/glog_kafka_sink.hpp"

#include <ctime>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "glog_support.hpp"
#include "kafka_log/mocks/gmock_async_producer.hpp"
#include "kafka_log/mocks/mock_async_producer.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

using mocks::MockAsyncProducer;
using test::Balanced;
using test::read_lines;
using test::TempDir;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

using namespace std::chrono_literals;

nlohmann::json parse(const std::string& line) {
    return nlohmann::json::parse(line);
}

// The seed's scenario through glog: two LOG() lines whose inputs the producer fails are both
// in the fallback, as JSON, and every record is accounted for.
TEST(GlogKafkaSinkTest, SeedScenarioBothFailedLinesLandInFallback) {
    TempDir dir;
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_fail({error_codes::message_timed_out, "timed out", false})
        .expect_input_and_fail({error_codes::message_timed_out, "timed out", false});
    auto writer = std::make_shared<KafkaWriter>(
        producer, std::make_shared<FileFallback>(dir / "fallback.log"),
        WriterOptions{.topic = "glog"});
    GlogKafkaSink sink(writer);
    {
        ScopedGlogSink scoped(sink);
        LOG(INFO) << "log to kafka 1";
        LOG(ERROR) << "log to kafka 2";
    }
    writer->close(1s);
    const auto lines = read_lines(dir / "fallback.log");
    ASSERT_THAT(lines, SizeIs(2));
    EXPECT_EQ(parse(lines[0])["msg"], "log to kafka 1");
    EXPECT_EQ(parse(lines[0])["level"], "info");
    EXPECT_EQ(parse(lines[1])["msg"], "log to kafka 2");
    EXPECT_EQ(parse(lines[1])["level"], "error");
    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_delivery_failed, 2u);
}

TEST(GlogKafkaSinkTest, RecordIsTheSameJsonAsTheBoostLogPath) {
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_succeed().expect_input_and_succeed();
    std::ostringstream text;
    auto writer = std::make_shared<KafkaWriter>(producer, std::make_shared<StreamFallback>(text),
                                                WriterOptions{.topic = "glog"});
    GlogKafkaSink sink(writer);
    int line = 0;
    {
        ScopedGlogSink scoped(sink);
        line = __LINE__ + 1;
        LOG(WARNING) << "disk \"/var\" at " << 91 << "%\nsecond line";
        LOG(INFO) << "bad byte \xff here";
    }
    const auto produced = producer->produced();
    ASSERT_THAT(produced, SizeIs(2));
    const auto j = parse(produced[0].payload);
    EXPECT_EQ(j["level"], "warning");
    EXPECT_EQ(j["msg"], "disk \"/var\" at 91%\nsecond line")
        << "a multi-line message stays one record";
    EXPECT_EQ(j["file"], "glog_kafka_sink_test.cpp");
    EXPECT_EQ(j["line"], line);
    EXPECT_TRUE(j["thread"].is_number_integer());
    EXPECT_THAT(j["logtime"].get<std::string>(),
                MatchesRegex(R"([0-9-]{10}T[0-9:]{8}\.[0-9]{3}\+00:00)"));
    EXPECT_EQ(produced[0].payload.find("{\"level\":\"warning\",\"logtime\":"), 0u)
        << "level, logtime, msg first";
    EXPECT_EQ(parse(produced[1].payload)["msg"], "bad byte \xEF\xBF\xBD here");
    EXPECT_TRUE(Balanced(writer->stats()));
}

TEST(GlogKafkaSinkTest, WaitTillSentNeverWaitsForKafka) {
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_hold();  // Kafka never answers
    std::ostringstream text;
    auto writer = std::make_shared<KafkaWriter>(producer, std::make_shared<StreamFallback>(text),
                                                WriterOptions{.topic = "glog"});
    GlogKafkaSink sink(writer);
    {
        ScopedGlogSink scoped(sink);
        LOG(INFO) << "still in flight when LOG returns";
    }
    EXPECT_EQ(writer->stats().in_flight, 1u);
    writer->close(0ms);
    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_closed, 1u);
}

TEST(GlogKafkaSinkTest, ConcurrentLogFromManyThreadsEveryLineOnceAndIdentityHolds) {
    constexpr int threads = 8;
    constexpr int per_thread = 2000;
    TempDir dir;
    auto producer = std::make_shared<MockAsyncProducer>(mocks::gtest_reporter(),
                                                        mocks::MockOptions{.threaded = true});
    for (int i = 0; i < threads * per_thread; ++i) {
        if (i % 4 == 3) {
            producer->expect_input_and_fail({error_codes::message_timed_out, "timed out", false});
        } else {
            producer->expect_input_and_succeed();
        }
    }
    auto writer = std::make_shared<KafkaWriter>(
        producer, std::make_shared<FileFallback>(dir / "fallback.log"),
        WriterOptions{.topic = "glog"});
    GlogKafkaSink sink(writer);
    {
        ScopedGlogSink scoped(sink);
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([t] {
                for (int i = 0; i < per_thread; ++i) LOG(INFO) << "t" << t << "-" << i;
            });
        }
        for (auto& w : workers) w.join();
    }
    writer->close(5s);

    std::multiset<std::string> seen;
    for (const auto& m : producer->produced()) {
        if (!m.error) seen.insert(parse(m.payload)["msg"].get<std::string>());
    }
    for (const auto& line : read_lines(dir / "fallback.log"))
        seen.insert(parse(line)["msg"].get<std::string>());
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(threads * per_thread));
    for (int t = 0; t < threads; ++t) {
        for (int i = 0; i < per_thread; ++i)
            ASSERT_EQ(seen.count("t" + std::to_string(t) + "-" + std::to_string(i)), 1u);
    }
    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_delivery_failed, static_cast<std::uint64_t>(threads * per_thread / 4));
    EXPECT_EQ(s.in_flight + s.lost, 0u);
}

// A FATAL line reaches the fallback before glog aborts: the failure is reported on the mock's
// own thread, and only the sink's bounded flush lets it land before abort().
TEST(GlogKafkaSinkDeathTest, FatalLineIsFlushedToTheFallbackBeforeAbort) {
    // "fast" (fork): the child writes to the directory this process created and will read.
    GTEST_FLAG_SET(death_test_style, "fast");
    TempDir dir;
    const auto fallback_path = dir / "fallback.log";
    EXPECT_DEATH(
        {
            auto producer = std::make_shared<MockAsyncProducer>(
                mocks::gtest_reporter(), mocks::MockOptions{.threaded = true});
            producer->expect_input_and_fail({error_codes::message_timed_out, "timed out", false});
            auto writer = std::make_shared<KafkaWriter>(
                producer, std::make_shared<FileFallback>(fallback_path),
                WriterOptions{.topic = "glog"});
            static GlogKafkaSink* sink =
                new GlogKafkaSink(writer);  // glog aborts: nothing is destroyed
            google::AddLogSink(sink);
            LOG(FATAL) << "the last words";
        },
        "the last words");
    const auto lines = read_lines(fallback_path);
    ASSERT_THAT(lines, SizeIs(1));
    EXPECT_EQ(parse(lines[0])["level"], "fatal");
    EXPECT_EQ(parse(lines[0])["msg"], "the last words");
}

// Kafka never answers: the FATAL line and the lines queued before it are still in the producer
// when glog aborts. The sink's close moves them all into the fallback first (fallback_closed).
TEST(GlogKafkaSinkDeathTest, FatalMovesEveryQueuedLineIntoTheFallbackBeforeAbort) {
    GTEST_FLAG_SET(death_test_style, "fast");
    TempDir dir;
    const auto fallback_path = dir / "fallback.log";
    EXPECT_DEATH(
        {
            auto producer = std::make_shared<MockAsyncProducer>();
            producer->expect_input_and_hold().expect_input_and_hold().expect_input_and_hold();
            auto writer = std::make_shared<KafkaWriter>(
                producer, std::make_shared<FileFallback>(fallback_path),
                WriterOptions{.topic = "glog"});
            static GlogKafkaSink* sink = new GlogKafkaSink(
                writer, GlogSinkOptions{.fatal_flush_timeout = 50ms});  // never destroyed
            google::AddLogSink(sink);
            LOG(INFO) << "queued 1";
            LOG(WARNING) << "queued 2";
            LOG(FATAL) << "the last words";
        },
        "the last words");
    const auto lines = read_lines(fallback_path);
    ASSERT_THAT(lines, SizeIs(3));
    std::multiset<std::string> messages;
    for (const auto& line : lines) messages.insert(parse(line)["msg"].get<std::string>());
    EXPECT_EQ(messages, (std::multiset<std::string>{"queued 1", "queued 2", "the last words"}));
}

// The FATAL path is one close(fatal_flush_timeout) of the producer (which flushes up to the
// timeout, then purges), not a flush and then a close that would wait again; every record still
// in the producer is in the fallback when send returns. `send` is called directly (LOG(FATAL)
// would abort this process).
TEST(GlogKafkaSinkTest, FatalSendClosesTheProducerOnceWithTheTimeoutAndPurgesIntoTheFallback) {
    TempDir dir;
    auto producer = std::make_shared<::testing::NiceMock<mocks::GMockAsyncProducer>>();
    producer->delegate_to_fake();
    producer->fake().expect_input_and_hold().expect_input_and_hold();
    EXPECT_CALL(*producer, flush(::testing::_)).Times(0);
    EXPECT_CALL(*producer, close(std::chrono::milliseconds(300))).Times(1);
    auto writer = std::make_shared<KafkaWriter>(
        producer, std::make_shared<FileFallback>(dir / "fallback.log"),
        WriterOptions{.topic = "glog"});
    GlogKafkaSink sink(writer, GlogSinkOptions{.fatal_flush_timeout = 300ms});
    const google::LogMessageTime time(std::time(nullptr), google::WallTime{0});
    const std::string queued = "queued";
    const std::string fatal = "fatal";
    sink.send(google::GLOG_INFO, "x.cc", "x.cc", 1, time, queued.data(), queued.size());
    sink.send(google::GLOG_FATAL, "x.cc", "x.cc", 2, time, fatal.data(), fatal.size());
    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_closed, 2u) << "both purged into the fallback before send returned";
    EXPECT_EQ(s.in_flight, 0u);
    const auto lines = read_lines(dir / "fallback.log");
    ASSERT_THAT(lines, SizeIs(2));
    std::set<std::string> levels{parse(lines[0])["level"], parse(lines[1])["level"]};
    EXPECT_EQ(levels, (std::set<std::string>{"info", "fatal"}));
    // The writer stays closed: a line after it goes straight to the fallback.
    sink.send(google::GLOG_INFO, "x.cc", "x.cc", 3, time, queued.data(), queued.size());
    EXPECT_EQ(writer->stats().fallback_closed, 3u);
}

TEST(GlogKafkaSinkTest, NullWriterIsRejected) {
    EXPECT_THROW(GlogKafkaSink(nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace kafka_log
