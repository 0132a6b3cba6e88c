// SPDX-License-Identifier: Apache-2.0
// A fatal error of the idempotent producer (librdkafka's client is unusable after it): the
// producer makes a new client, the records the old one held go to the spool, logging goes on
// to Kafka, and nothing stalls.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "../../src/core/producer/test_seam.hpp"
#include "integration_support.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "kafka_log/spool_reader.hpp"
#include "kafka_log/testing/topic_reader.hpp"

namespace kafka_log::test {
namespace {

constexpr int out_of_order_sequence_number = 45;  // RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER

/// 20 000 records from 2 threads, a fatal error raised on the producer's client half-way
/// through by one of them, then records until one written after it is delivered.
void log_through_a_fatal_error(ProduceOn produce_on) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);

    TempDir tmp;
    const auto dir = tmp / "spool";
    ClientLog client_log;
    constexpr int threads = 2;
    constexpr int per_thread = 10000;
    std::vector<std::string> sent;
    WriterStats s;
    std::uint64_t recreations = 0;
    {
        RdKafkaOptions producer_options = client_log.options();
        producer_options.produce_on = produce_on;
        auto producer =
            std::make_shared<RdKafkaProducer>(test_config(cluster, 5000), producer_options);
        auto spool = std::make_shared<SpoolFallback>(dir, SpoolOptions{.replay_rate = 0});
        WriterOptions options;
        options.topic = topic;
        options.breaker_backoff = 100ms;
        options.breaker_max_backoff = 500ms;
        KafkaWriter writer(producer, spool, options);

        std::atomic<int> raised{-1};
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                for (int i = 0; i < per_thread; ++i) {
                    if (t == 0 && i == per_thread / 2) {
                        raised = detail::RdKafkaProducerTestSeam::raise_fatal_error(
                            *producer, out_of_order_sequence_number, "sequence gap for the test");
                    }
                    writer.write("r-" + std::to_string(t) + "-" + std::to_string(i));
                }
            });
        }
        for (auto& w : workers) w.join();
        ASSERT_EQ(raised.load(), 0) << "librdkafka raised the fatal error";
        for (int t = 0; t < threads; ++t) {
            for (int i = 0; i < per_thread; ++i)
                sent.push_back("r-" + std::to_string(t) + "-" + std::to_string(i));
        }
        ASSERT_TRUE(wait_until([&] { return producer->recreations() >= 1; }, 20s))
            << "the producer made a new client";

        // Logging goes on to Kafka: records written now are delivered (once the breaker,
        // which the failed records may have opened, lets them through).
        ASSERT_TRUE(writer.flush(20s)) << "nothing stalls in flight";
        const std::uint64_t delivered_before = writer.stats().delivered;
        int after = 0;
        ASSERT_TRUE(wait_until(
            [&] {
                const std::string record = "after-" + std::to_string(after++);
                writer.write(record);
                sent.push_back(record);
                writer.flush(2s);
                return writer.stats().delivered > delivered_before;
            },
            30s))
            << "a record written after the recreation reaches Kafka";
        writer.close(5s);
        s = writer.stats();
        recreations = producer->recreations();
        if (::testing::Test::HasFailure()) {
            for (const auto& line : client_log.lines())
                std::cerr << "  librdkafka: " << line << "\n";
        }
    }

    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, sent.size());
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(recreations, 1u);

    // Read back: the topic and the spool.
    std::map<std::string, int> on_topic;
    for (const TopicRecord& r : read_topic(cluster.bootstrap_servers(), topic, 20s))
        ++on_topic[r.payload];
    std::map<std::string, int> in_spool;
    std::uint64_t spooled_fatal = 0;
    SpoolReader reader(dir);
    SpoolRecord record;
    while (reader.next(record)) {
        ++in_spool[record.payload];
        if (record.error == out_of_order_sequence_number) {
            ++spooled_fatal;
            EXPECT_EQ(record.reason, FallbackReason::delivery_failed) << record.payload;
        }
    }
    std::uint64_t spool_total = 0;
    for (const auto& [payload, n] : in_spool) spool_total += static_cast<std::uint64_t>(n);
    EXPECT_EQ(spool_total, s.fallback_total()) << "every fallback record is in the spool, once";
    EXPECT_EQ(spooled_fatal, s.fallback_delivery_failed)
        << "each record the failed client held is reported with the fatal error";

    std::uint64_t missing = 0;
    std::uint64_t duplicates = 0;
    const std::set<std::string> known(sent.begin(), sent.end());
    for (const std::string& payload : sent) {
        const int copies = on_topic[payload] + in_spool[payload];
        if (copies == 0) ++missing;
        if (copies > 1) duplicates += static_cast<std::uint64_t>(copies - 1);
    }
    for (const auto& [payload, n] : on_topic) EXPECT_TRUE(known.count(payload)) << payload;
    EXPECT_EQ(missing, 0u) << "every record is on the topic or in the spool";
    EXPECT_LE(duplicates, s.possibly_persisted) << "duplicates only where the producer said so";
    bool after_on_topic = false;
    for (const auto& [payload, n] : on_topic) after_on_topic |= payload.rfind("after-", 0) == 0;
    EXPECT_TRUE(after_on_topic) << "logging after the fatal error reaches the topic";

    std::printf(
        "[ fatal error ] submitted=%llu delivered=%llu delivery_failed=%llu unreachable=%llu "
        "spooled with the fatal error=%llu possibly_persisted=%llu duplicates=%llu\n",
        static_cast<unsigned long long>(s.submitted), static_cast<unsigned long long>(s.delivered),
        static_cast<unsigned long long>(s.fallback_delivery_failed),
        static_cast<unsigned long long>(s.fallback_unreachable),
        static_cast<unsigned long long>(spooled_fatal),
        static_cast<unsigned long long>(s.possibly_persisted),
        static_cast<unsigned long long>(duplicates));
}

TEST(FaultsTest, IdempotentProducerFatalErrorRecreatesTheProducer) {
    log_through_a_fatal_error(ProduceOn::producer_thread);
}

TEST(FaultsTest, IdempotentProducerFatalErrorRecreatesTheProducerProducingOnCallingThreads) {
    log_through_a_fatal_error(ProduceOn::calling_thread);
}

}  // namespace
}  // namespace kafka_log::test
