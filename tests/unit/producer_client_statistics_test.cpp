// SPDX-License-Identifier: Apache-2.0
// parse_client_statistics: the queue depth and the brokers' round trip out of librdkafka's
// statistics JSON; any malformed document is refused whole, nothing crashes.

#include "../../src/core/producer/client_statistics.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace kafka_log::detail {
namespace {

// Shaped like librdkafka 2.0's document (fields cut down, order and nesting kept).
const std::string document = R"({
  "name": "kafka_log#producer-1", "client_id": "kafka_log", "type": "producer",
  "ts": 5016483227792, "time": 1527060869, "replyq": 0,
  "msg_cnt": 22710, "msg_size": 704010, "msg_max": 500000, "msg_size_max": 1073741824,
  "brokers": {
    "localhost:9092/2": { "name": "localhost:9092/2", "nodeid": 2, "state": "UP",
      "int_latency": { "min": 4, "max": 27, "avg": 12, "p99": 26 },
      "rtt": { "min": 0, "max": 0, "avg": 0, "sum": 0, "cnt": 0, "p50": 0, "p99": 0 },
      "req": { "Produce": 44, "Metadata": 2 },
      "toppars": { "test-0": { "topic": "test", "partition": 0 } } },
    "localhost:9093/3": { "name": "localhost:9093/3", "nodeid": 3, "state": "UP",
      "rtt": { "min": 180, "max": 9120, "avg": 1520, "cnt": 40, "p99": 8980,
               "p99_99": 9120, "outofrange": 0, "hdrsize": 11376 } },
    "GroupCoordinator": { "name": "GroupCoordinator", "nodeid": -1, "state": "INIT",
      "rtt": { "avg": 2500.5, "p99": 0 } } },
  "topics": { "test": { "topic": "test", "partitions": { "0": { "msgq_cnt": 101,
      "rtt": { "avg": 999999999 }, "msg_cnt": 7 } } } },
  "tx": 631, "txmsgs": 22707, "escaped": "a\"b\\c\u00e9", "list": [1, -2.5e3, true, null, {}]
})";

TEST(ClientStatisticsTest, ReadsQueueDepthAndTheLargestRoundTripOverBrokers) {
    const auto parsed = parse_client_statistics(document);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->queue_records, 22710u);
    EXPECT_EQ(parsed->queue_bytes, 704010u);
    EXPECT_EQ(parsed->broker_rtt_avg_us, 2500u) << "max over brokers, fraction truncated";
    EXPECT_EQ(parsed->broker_rtt_p99_us, 8980u);
}

TEST(ClientStatisticsTest, OnlyTheTopLevelAndBrokersFieldsCount) {
    // msg_cnt inside a topic and rtt under topics are not the figures kept.
    const auto parsed = parse_client_statistics(
        R"({"topics":{"t":{"msg_cnt":5,"rtt":{"avg":7}}},"x":{"msg_size":3}})");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->queue_records, 0u);
    EXPECT_EQ(parsed->queue_bytes, 0u);
    EXPECT_EQ(parsed->broker_rtt_avg_us, 0u);
}

TEST(ClientStatisticsTest, MissingFieldsReadZero) {
    const auto parsed = parse_client_statistics("{}");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->queue_records, 0u);
    EXPECT_EQ(parsed->broker_rtt_p99_us, 0u);
    EXPECT_TRUE(parse_client_statistics(R"( {"brokers": {}} )"));
    EXPECT_TRUE(parse_client_statistics(R"({"brokers": {"b": 1, "c": [] }})"));
}

TEST(ClientStatisticsTest, OddNumbersAreClampedNotRefused) {
    auto parsed = parse_client_statistics(R"({"msg_cnt": -5, "msg_size": 1e30})");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->queue_records, 0u);
    EXPECT_EQ(parsed->queue_bytes, std::numeric_limits<std::uint64_t>::max());
    parsed = parse_client_statistics(R"({"msg_cnt": 1e999, "msg_size": 12.75})");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->queue_records, std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(parsed->queue_bytes, 12u);
    parsed = parse_client_statistics(
        R"({"msg_cnt": 9007199254740993, "msg_size": 99999999999999999999})");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->queue_records, 9007199254740993u) << "integers are read exactly";
    EXPECT_EQ(parsed->queue_bytes, std::numeric_limits<std::uint64_t>::max());
}

TEST(ClientStatisticsTest, EveryTruncationOfADocumentIsRefused) {
    for (std::size_t n = 0; n < document.size(); ++n) {
        EXPECT_FALSE(parse_client_statistics(document.substr(0, n)))
            << "accepted the first " << n << " bytes";
    }
}

TEST(ClientStatisticsTest, MalformedDocumentsAreRefused) {
    const char* const bad[] = {
        "",
        "[]",
        "42",
        "\"text\"",
        "{",
        "}",
        "{\"msg_cnt\"}",
        "{\"msg_cnt\": }",
        "{\"msg_cnt\": 1,}",
        "{\"msg_cnt\": 1 \"msg_size\": 2}",
        "{msg_cnt: 1}",
        "{\"msg_cnt\": 01}",
        "{\"msg_cnt\": 1.}",
        "{\"msg_cnt\": .5}",
        "{\"msg_cnt\": 1e}",
        "{\"msg_cnt\": -}",
        "{\"msg_cnt\": +1}",
        "{\"a\": tru}",
        "{\"a\": nul}",
        "{\"a\": \"\\x\"}",
        "{\"a\": \"\\u12g4\"}",
        "{\"a\": \"line\nbreak\"}",
        "{\"a\": [1, 2}",
        "{\"a\": [1 2]}",
        "{} {}",
        "{}x",
        "{\"a\": \"unterminated}",
        "{\"a\": \"\\",
    };
    for (const char* text : bad) EXPECT_FALSE(parse_client_statistics(text)) << text;
    EXPECT_FALSE(parse_client_statistics(std::string("{\"a\":1}\0", 8))) << "NUL after the end";
}

TEST(ClientStatisticsTest, DeepNestingIsRefusedWithoutExhaustingTheStack) {
    std::string deep = "{\"a\":";
    for (int i = 0; i < 100000; ++i) deep += '[';
    EXPECT_FALSE(parse_client_statistics(deep));
    std::string ok = "{\"a\":";
    for (int i = 0; i < statistics_max_depth - 1; ++i) ok += '[';
    for (int i = 0; i < statistics_max_depth - 1; ++i) ok += ']';
    ok += '}';
    EXPECT_TRUE(parse_client_statistics(ok));
}

TEST(ClientStatisticsTest, ArbitraryBytesNeverCrash) {
    std::uint32_t state = 12345;
    const std::string alphabet = "{}[]\":,-+.eE0123456789 tfnul\\ab\n";
    for (int round = 0; round < 20000; ++round) {
        std::string text;
        const int size = static_cast<int>(state % 64);
        for (int i = 0; i < size; ++i) {
            state = state * 1664525u + 1013904223u;
            text += alphabet[(state >> 16) % alphabet.size()];
        }
        state = state * 1664525u + 1013904223u;
        (void)parse_client_statistics(text);  // any result; no crash, no sanitizer report
    }
    SUCCEED();
}

}  // namespace
}  // namespace kafka_log::detail
