// SPDX-License-Identifier: Apache-2.0
// The cluster down, slow, or closing under us: nothing lost, nothing blocked.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration_support.hpp"

namespace kafka_log::test {
namespace {

using Clock = std::chrono::steady_clock;

WriterOptions fast_breaker() {
    WriterOptions o;
    o.breaker_backoff = 200ms;
    o.breaker_max_backoff = 1s;
    return o;
}

TEST(OutageTest, ClusterDownForTheWholeRunEverythingInFallbackNothingBlocks) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    cluster.set_broker_down(1);
    Pipeline p(topic, test_config(cluster, 1500), fast_breaker());

    // Log until the client has found the cluster unreachable (one record per poll), then the
    // main load from two threads: it must neither block nor lose anything.
    std::uint64_t early = 0;
    ASSERT_TRUE(wait_until(
        [&] {
            p.writer->write("early-" + std::to_string(early++));
            return p.writer->breaker_open();
        },
        20s));
    constexpr int threads = 2;
    constexpr int per_thread = 5000;
    std::atomic<std::int64_t> slowest_ns{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                const std::string record = "down-" + std::to_string(t) + "-" + std::to_string(i);
                const auto start = Clock::now();
                p.writer->write(record);
                const std::int64_t ns =
                    std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start)
                        .count();
                std::int64_t seen = slowest_ns.load();
                while (ns > seen && !slowest_ns.compare_exchange_weak(seen, ns)) {
                }
            }
        });
    }
    for (auto& w : workers) w.join();
    std::printf("[ hang detector ] slowest write() with the cluster down: %.3f ms\n",
                static_cast<double>(slowest_ns.load()) / 1e6);
    p.writer->close(3s);

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, early + threads * per_thread);
    EXPECT_EQ(s.delivered, 0u);
    EXPECT_EQ(s.lost + s.in_flight, 0u);
    EXPECT_EQ(s.fallback_total(), s.submitted);
    EXPECT_GE(s.fallback_unreachable, static_cast<std::uint64_t>(threads * per_thread) - 10)
        << "with the breaker open, records skip the producer's queue (a probe may go through)";
    EXPECT_TRUE(p.writer->breaker_open());

    const auto fallback = counts(p.fallback_lines());
    EXPECT_EQ(fallback.size(), s.submitted);
    for (const auto& [record, n] : fallback) ASSERT_EQ(n, 1) << record;
    cluster.set_broker_up(1);
    EXPECT_EQ(cluster.message_count(topic), 0u) << "nothing reached the topic";
}

TEST(OutageTest, ClusterGoesDownMidStreamAndComesBackDeliveryResumesByItself) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    Pipeline p(topic, test_config(cluster, 2000), fast_breaker());

    std::vector<std::string> sent;
    auto write = [&](const std::string& prefix) {
        sent.push_back(prefix + "-" + std::to_string(sent.size()));
        p.writer->write(sent.back());
    };

    for (int i = 0; i < 1000; ++i) write("up");
    ASSERT_TRUE(p.writer->flush(10s));
    const std::uint64_t delivered_before = p.writer->stats().delivered;
    EXPECT_EQ(delivered_before, 1000u);

    cluster.set_broker_down(1);
    // Keep logging until the breaker has opened (one record per poll of the condition).
    ASSERT_TRUE(wait_until(
        [&] {
            write("down");
            return p.writer->breaker_open();
        },
        20s));
    for (int i = 0; i < 500; ++i) write("down-open");
    EXPECT_GE(p.writer->stats().fallback_unreachable, 500u);

    cluster.set_broker_up(1);
    // Keep logging: the breaker's probe finds the cluster back, and delivery resumes.
    ASSERT_TRUE(wait_until(
        [&] {
            write("back");
            return !p.writer->breaker_open();
        },
        30s));
    const std::uint64_t delivered_at_resume = p.writer->stats().delivered;
    for (int i = 0; i < 1000; ++i) write("resumed");
    ASSERT_TRUE(p.writer->flush(20s));
    p.writer->close(5s);

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, sent.size());
    EXPECT_EQ(s.lost + s.in_flight, 0u);
    EXPECT_GE(s.delivered, delivered_at_resume + 1000)
        << "the last 1000 were written after recovery";
    expect_accounted(sent, payloads(cluster.read_all(topic, 30s)), p.fallback_lines(), s);
}

/// Recovery with the library's defaults (breaker, reconnect back-off): after a 3 s outage
/// under load, in which probes time out and the back-off grows as far as it goes, the first
/// record reaches Kafka within a second of the cluster's return.
TEST(OutageTest, AfterAnOutageTheFirstRecordReachesKafkaWithinASecondOfTheClustersReturn) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    // Only what the test needs: the breaker and reconnect back-off are the library's defaults.
    Pipeline p(topic, ProducerConfig{{"bootstrap.servers", cluster.bootstrap_servers()},
                                     {"message.timeout.ms", "1000"}});

    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> written{0};
    std::thread load([&] {
        while (!stop.load()) {
            p.writer->write("load-" + std::to_string(written.fetch_add(1)));
            std::this_thread::sleep_for(500us);  // pacing the load (about 2 000 records a second)
        }
    });
    ASSERT_TRUE(wait_until([&] { return p.writer->stats().delivered >= 100; }, 20s));
    cluster.set_broker_down(1);
    EXPECT_TRUE(wait_until([&] { return p.writer->breaker_open(); }, 20s));
    const auto outage_end = std::chrono::steady_clock::now() + 3s;
    EXPECT_TRUE(wait_until([&] { return std::chrono::steady_clock::now() >= outage_end; }, 10s));
    const WriterStats during = p.writer->stats();
    EXPECT_GT(during.fallback_unreachable, 0u);

    cluster.set_broker_up(1);
    const auto up_at = std::chrono::steady_clock::now();
    const std::uint64_t delivered_at_up = p.writer->stats().delivered;
    const bool recovered =
        wait_until([&] { return p.writer->stats().delivered > delivered_at_up; }, 1s);
    const auto first_delivery_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - up_at)
                                       .count();
    EXPECT_TRUE(recovered) << "no record reached Kafka within 1 s of the cluster's return";
    std::cout << "first delivery " << first_delivery_ms << " ms after the cluster came back\n";
    stop = true;
    load.join();
    ASSERT_TRUE(p.writer->flush(20s));
    p.writer->close(5s);
    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, written.load());
    EXPECT_EQ(s.lost + s.in_flight, 0u);
    EXPECT_EQ(s.delivered + s.fallback_total(), s.submitted);
    // Every delivered record is on the topic; a record there beyond them is one that failed
    // as possibly persisted (and is in the fallback too).
    const auto on_topic = payloads(cluster.read_all(topic, 30s));
    EXPECT_GE(on_topic.size(), s.delivered);
    EXPECT_LE(on_topic.size(), s.delivered + s.possibly_persisted);
}

TEST(OutageTest, CloseWithRequestsInFlightReturnsInTimeAndAccountsEverything) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    Pipeline p(topic, test_config(cluster, 10000));
    p.writer->write("warm-up");  // connection and producer id set up before the slow part
    ASSERT_TRUE(p.writer->flush(10s));

    cluster.set_broker_rtt(1, 4000);
    std::vector<std::string> sent{"warm-up"};
    for (int i = 0; i < 200; ++i) {
        sent.push_back("in-flight-" + std::to_string(i));
        p.writer->write(sent.back());
    }
    EXPECT_FALSE(p.writer->flush(300ms)) << "the broker answers after 4 s";

    const auto timeout = 500ms;
    const auto start = Clock::now();
    p.writer->close(timeout);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    std::printf("[ close timing ] close(%lld ms) returned after %lld ms\n",
                static_cast<long long>(timeout.count()), static_cast<long long>(took.count()));
    EXPECT_LT(took, timeout + 1500ms)
        << "close must return within its timeout plus a bounded slack";

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.fallback_closed, 200u);
    EXPECT_GT(s.possibly_persisted, 0u) << "requests were on the wire when purged";

    cluster.set_broker_rtt(1, 0);
    expect_accounted(sent, payloads(cluster.read_all(topic, 30s)), p.fallback_lines(), s);
}

// A user who routes librdkafka's log lines into the same writer (through their logging
// framework) gets neither recursion nor a deadlock: those records go to the fallback.
TEST(OutageTest, LibrdkafkaLogRoutedIntoTheSameWriterDoesNotRecurse) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    std::atomic<KafkaWriter*> target{nullptr};
    std::atomic<int> log_lines{0};
    RdKafkaOptions options;
    options.log_callback = [&](int, std::string_view facility, std::string_view line) {
        ++log_lines;
        if (KafkaWriter* w = target.load())
            w->write("librdkafka " + std::string(facility) + ": " + std::string(line));
    };
    ProducerConfig config = test_config(cluster);
    config.set("debug", "msg,protocol");
    auto producer = std::make_shared<RdKafkaProducer>(config, options);
    TempDir dir;
    auto writer = std::make_shared<KafkaWriter>(
        producer, std::make_shared<FileFallback>(dir / "fallback.log"),
        WriterOptions{.topic = topic});
    target = writer.get();
    for (int i = 0; i < 100; ++i) writer->write("app-" + std::to_string(i));
    ASSERT_TRUE(writer->flush(10s));
    writer->close(2s);
    target = nullptr;

    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_GT(log_lines.load(), 0);
    EXPECT_GT(s.fallback_reentrant, 0u);
    EXPECT_EQ(s.delivered, 100u);
    const auto on_topic = payloads(cluster.read_all(topic, 10s));
    EXPECT_EQ(on_topic.size(), 100u);
    for (const auto& record : on_topic) EXPECT_EQ(record.rfind("app-", 0), 0u) << record;
}

}  // namespace
}  // namespace kafka_log::test
