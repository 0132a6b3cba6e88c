// SPDX-License-Identifier: Apache-2.0
// KafkaWriter::write with Kafka headers: they reach the producer, every fallback bucket of the
// spool, the journal copy, and come back out of a replay followed by the kafka_log.* headers.
#include <chrono>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kafka_log/kafka_writer.hpp"
#include "kafka_log/mocks/header_checks.hpp"
#include "kafka_log/mocks/mock_async_producer.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "kafka_log/spool_reader.hpp"
#include "spool_support.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

namespace fs = std::filesystem;
using mocks::HasHeader;
using mocks::MockAsyncProducer;
using mocks::ProducedMessage;
using test::Balanced;
using test::TempDir;
using ::testing::ElementsAre;
using ::testing::Pair;

using namespace std::chrono_literals;

using Headers = std::vector<std::pair<std::string, std::string>>;

const RecordHeader two_headers[] = {{"TraceID", "4bf92f35"}, {"Service", "billing"}};
const Headers two_headers_copy = {{"TraceID", "4bf92f35"}, {"Service", "billing"}};

TEST(WriterHeadersTest, HeadersReachTheProducerInOrderAndTheOldWriteSendsNone) {
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_with_checker_and_succeed(mocks::has_headers(two_headers_copy))
        .expect_input_with_checker_and_succeed(mocks::lacks_header("TraceID"));
    std::ostringstream text;
    KafkaWriter writer(producer, std::make_shared<StreamFallback>(text),
                       WriterOptions{.topic = "logs"});
    {
        // The caller's buffers may go away at once: the producer copied them.
        std::string trace = "4bf92f35";
        const RecordHeader headers[] = {{"TraceID", trace}, {"Service", "billing"}};
        writer.write("with", "k", headers);
        trace.assign("overwritten");
    }
    writer.write("without", "k");
    writer.close(0ms);

    const std::vector<ProducedMessage> produced = producer->produced();
    ASSERT_EQ(produced.size(), 2u);
    EXPECT_EQ(produced[0].headers, two_headers_copy);
    EXPECT_EQ(produced[0].header("Service"), "billing");
    EXPECT_THAT(produced[0], HasHeader("TraceID", "4bf92f35"));
    EXPECT_TRUE(produced[1].headers.empty());
    EXPECT_EQ(produced[1].header("TraceID"), std::nullopt);
    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, 2u);
    EXPECT_TRUE(text.str().empty());
}

// Every way into the fallback keeps the headers in the spool: refused by the producer, failed
// after it, written while the breaker is open, and written after close.
TEST(WriterHeadersTest, EveryFallbackBucketKeepsTheHeadersInTheSpool) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_reject(ProduceStatus::queue_full)
        .expect_input_and_reject(ProduceStatus::too_large)
        .expect_input_and_fail({error_codes::message_timed_out, "timed out", true})
        .expect_input_and_hold();
    auto spool = std::make_shared<SpoolFallback>(dir, SpoolOptions{.replay_rate = 0});
    KafkaWriter writer(producer, spool, WriterOptions{.topic = "logs"});
    writer.write("queue full", "k1", two_headers);
    writer.write("too large", "k2", two_headers);
    writer.write("failed", "k3", two_headers);
    writer.write("held, then purged", "k4", two_headers);
    producer->set_cluster_state(ClusterState::unreachable);
    writer.write("unreachable", "k5", two_headers);
    producer->set_cluster_state(ClusterState::reachable);
    writer.close(0ms);
    writer.write("after close", "k6", two_headers);

    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_total(), 6u);
    EXPECT_EQ(s.lost, 0u);
    const std::vector<SpoolRecord> records = test::read_spool_records(dir);
    ASSERT_EQ(records.size(), 6u);
    // In the order they reached the spool: the held record is purged by close, after the one
    // the breaker refused.
    const std::vector<std::tuple<std::string, std::string, FallbackReason>> want = {
        {"queue full", "k1", FallbackReason::queue_full},
        {"too large", "k2", FallbackReason::too_large},
        {"failed", "k3", FallbackReason::delivery_failed},
        {"unreachable", "k5", FallbackReason::unreachable},
        {"held, then purged", "k4", FallbackReason::closed},
        {"after close", "k6", FallbackReason::closed}};
    for (std::size_t i = 0; i < records.size(); ++i) {
        EXPECT_EQ(records[i].payload, std::get<0>(want[i])) << i;
        EXPECT_EQ(records[i].key, std::get<1>(want[i])) << i;
        EXPECT_EQ(records[i].reason, std::get<2>(want[i])) << i;
        EXPECT_EQ(records[i].headers, two_headers_copy) << records[i].payload;
    }
}

TEST(WriterHeadersTest, TheJournalCopyKeepsTheHeaders) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_hold();
    auto spool =
        std::make_shared<SpoolFallback>(dir, SpoolOptions{.replay_rate = 0, .journal = true});
    KafkaWriter writer(producer, spool, WriterOptions{.topic = "logs"});
    writer.write("in flight", {}, two_headers);

    // In flight: the spool holds the journal copy, headers and all.
    const std::vector<SpoolRecord> copies = test::read_spool_records(dir);
    ASSERT_EQ(copies.size(), 1u);
    EXPECT_EQ(copies[0].reason, FallbackReason::in_flight);
    EXPECT_EQ(copies[0].payload, "in flight");
    EXPECT_EQ(copies[0].headers, two_headers_copy);
    EXPECT_EQ(producer->release_held(), 1u);
    writer.close(0ms);
    EXPECT_TRUE(Balanced(writer.stats()));
    EXPECT_EQ(writer.stats().delivered, 1u);
    EXPECT_TRUE(test::read_spool_records(dir).empty()) << "settled on delivery";
}

// Out of the spool and back to Kafka: a replayed record has its own headers first, then
// kafka_log.id and kafka_log.replayed.
TEST(WriterHeadersTest, AReplayedRecordKeepsItsHeadersFollowedByTheReplayHeaders) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    {
        auto producer = std::make_shared<MockAsyncProducer>();
        producer->expect_input_and_fail({error_codes::message_timed_out, "timed out", false});
        KafkaWriter writer(producer,
                           std::make_shared<SpoolFallback>(dir, SpoolOptions{.replay_rate = 0}),
                           WriterOptions{.topic = "logs"});
        writer.write("to replay", "key", two_headers);
        writer.close(0ms);
        EXPECT_TRUE(Balanced(writer.stats()));
        EXPECT_EQ(writer.stats().fallback_delivery_failed, 1u);
    }
    const std::vector<SpoolRecord> spooled = test::read_spool_records(dir);
    ASSERT_EQ(spooled.size(), 1u);

    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_with_checker_and_succeed(mocks::has_header("TraceID", "4bf92f35"));
    KafkaWriter writer(producer,
                       std::make_shared<SpoolFallback>(dir, SpoolOptions{.replay_rate = 1e6}),
                       WriterOptions{.topic = "logs"});
    ASSERT_TRUE(test::wait_until([&] { return writer.stats().replayed == 1; }, 30s));
    writer.close(0ms);
    const std::vector<ProducedMessage> sent = producer->produced();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].payload, "to replay");
    EXPECT_EQ(sent[0].key, "key");
    EXPECT_THAT(sent[0].headers,
                ElementsAre(Pair("TraceID", "4bf92f35"), Pair("Service", "billing"),
                            Pair("kafka_log.id", spooled[0].id), Pair("kafka_log.replayed", "1")));
    EXPECT_TRUE(test::read_spool_records(dir).empty());
}

TEST(WriterHeadersTest, FileAndStreamFallbacksKeepThePayloadOnly) {
    TempDir tmp;
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_reject(ProduceStatus::queue_full)
        .expect_input_and_reject(ProduceStatus::queue_full);
    auto file = std::make_shared<FileFallback>(tmp / "fallback.log");
    KafkaWriter writer(producer, file, WriterOptions{.topic = "logs"});
    writer.write("first", "k", two_headers);
    writer.write("second", {}, two_headers);
    writer.close(0ms);
    EXPECT_THAT(test::read_lines(tmp / "fallback.log"), ElementsAre("first", "second"));
    EXPECT_TRUE(Balanced(writer.stats()));
    EXPECT_EQ(writer.stats().fallback_queue_full, 2u);
}

}  // namespace
}  // namespace kafka_log
