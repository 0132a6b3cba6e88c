// SPDX-License-Identifier: Apache-2.0
// RdKafkaProducer + KafkaWriter against EmbeddedCluster: the happy path, volume, and the
// cluster's own answers (queue full, too large, pushed errors, leader moves).
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration_support.hpp"

namespace kafka_log::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

TEST(DeliveryTest, HundredThousandRecordsFromTenThreadsEachReadBackExactlyOnce) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 16, 1);  // the mock keeps ~5 MiB per partition
    Pipeline p(topic, test_config(cluster, 30000));

    constexpr int threads = 10;
    constexpr int per_thread = 10000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            std::string record;
            for (int i = 0; i < per_thread; ++i) {
                record = "{\"thread\":" + std::to_string(t) + ",\"seq\":" + std::to_string(i) + "}";
                p.writer->write(record, "k" + std::to_string(t));
            }
        });
    }
    for (auto& w : workers) w.join();
    ASSERT_TRUE(p.writer->flush(60s));
    p.writer->close(5s);

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, 100000u);
    EXPECT_EQ(s.delivered, 100000u) << "the cluster was up all along";
    EXPECT_EQ(s.in_flight + s.lost, 0u);

    EXPECT_EQ(cluster.message_count(topic), 100000u);
    const auto on_topic = counts(payloads(cluster.read_all(topic, 60s)));
    ASSERT_EQ(on_topic.size(), 100000u);
    for (int t = 0; t < threads; ++t) {
        for (int i = 0; i < per_thread; i += 997) {
            const std::string record =
                "{\"thread\":" + std::to_string(t) + ",\"seq\":" + std::to_string(i) + "}";
            const auto it = on_topic.find(record);
            ASSERT_NE(it, on_topic.end()) << record;
            EXPECT_EQ(it->second, 1) << record;
        }
    }
    for (const auto& [record, n] : on_topic) ASSERT_EQ(n, 1) << "duplicate: " << record;
    EXPECT_THAT(p.fallback_lines(), IsEmpty());
}

TEST(DeliveryTest, QueueFullBurstsGoToFallbackAndTheRestIsDelivered) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    ProducerConfig config = test_config(cluster, 30000);
    config.set("queue.buffering.max.messages", "50").set("linger.ms", "200");
    Pipeline p(topic, config);

    std::vector<std::string> sent;
    for (int burst = 0; burst < 3; ++burst) {
        for (int i = 0; i < 500; ++i) {
            sent.push_back("burst-" + std::to_string(burst) + "-" + std::to_string(i));
            p.writer->write(sent.back());
        }
        ASSERT_TRUE(p.writer->flush(30s));
    }
    p.writer->close(5s);

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_GT(s.fallback_queue_full, 0u);
    EXPECT_GT(s.delivered, 0u);
    EXPECT_EQ(s.delivered + s.fallback_queue_full, sent.size());
    const auto topic_records = payloads(cluster.read_all(topic, 30s));
    const auto fallback = p.fallback_lines();
    EXPECT_EQ(topic_records.size(), s.delivered);
    EXPECT_EQ(fallback.size(), s.fallback_queue_full);
    std::vector<std::string> everything = topic_records;
    everything.insert(everything.end(), fallback.begin(), fallback.end());
    EXPECT_THAT(everything, UnorderedElementsAreArray(sent)) << "each record exactly once";
}

TEST(DeliveryTest, RecordOverMessageMaxBytesGoesToFallback) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    ProducerConfig config = test_config(cluster);
    config.set("message.max.bytes", "10000");
    Pipeline p(topic, config);

    const std::string big(20000, 'x');
    p.writer->write("small before");
    p.writer->write(big);
    p.writer->write("small after");
    ASSERT_TRUE(p.writer->flush(10s));
    p.writer->close(1s);

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_too_large, 1u);
    EXPECT_EQ(s.delivered, 2u);
    EXPECT_THAT(p.fallback_lines(), ElementsAre(big));
    EXPECT_THAT(payloads(cluster.read_all(topic, 10s)), ElementsAre("small before", "small after"));
}

TEST(DeliveryTest, RetriableProduceErrorsAreRetriedAndDelivered) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    Pipeline p(topic, test_config(cluster, 10000));
    p.writer->write("warm-up");
    ASSERT_TRUE(p.writer->flush(10s));

    constexpr int not_leader_for_partition = 6;
    constexpr int request_timed_out = 7;
    cluster.push_produce_errors(2, not_leader_for_partition);
    cluster.push_produce_errors(1, request_timed_out);
    std::vector<std::string> sent{"warm-up"};
    for (int i = 0; i < 20; ++i) {
        sent.push_back("retried-" + std::to_string(i));
        p.writer->write(sent.back());
    }
    ASSERT_TRUE(p.writer->flush(15s));
    p.writer->close(1s);

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, sent.size());
    EXPECT_EQ(s.fallback_total() + s.lost, 0u);
    EXPECT_THAT(payloads(cluster.read_all(topic, 10s)), UnorderedElementsAreArray(sent));
}

TEST(DeliveryTest, NonRetriableProduceErrorSendsTheRecordToFallback) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    Pipeline p(topic, test_config(cluster, 10000));
    p.writer->write("before");
    ASSERT_TRUE(p.writer->flush(10s));

    constexpr int topic_authorization_failed = 29;
    cluster.push_produce_errors(1, topic_authorization_failed);
    p.writer->write("refused by the broker");
    ASSERT_TRUE(p.writer->flush(10s));
    p.writer->close(1s);

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.fallback_delivery_failed, 1u);
    EXPECT_EQ(s.possibly_persisted, 0u);
    EXPECT_THAT(p.fallback_lines(), ElementsAre("refused by the broker"));
    EXPECT_THAT(payloads(cluster.read_all(topic, 10s)), ElementsAre("before"));
}

TEST(DeliveryTest, PartitionLeaderMovesMidStreamNothingLost) {
    EmbeddedCluster cluster(3);
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 3);
    cluster.set_partition_leader(topic, 0, 1);
    Pipeline p(topic, test_config(cluster, 15000));

    std::vector<std::string> sent;
    for (int i = 0; i < 3000; ++i) {
        if (i == 1000) cluster.set_partition_leader(topic, 0, 2);
        if (i == 2000) cluster.set_partition_leader(topic, 0, 3);
        sent.push_back("leader-move-" + std::to_string(i));
        p.writer->write(sent.back());
    }
    ASSERT_TRUE(p.writer->flush(30s));
    p.writer->close(5s);

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.lost + s.in_flight, 0u);
    expect_accounted(sent, payloads(cluster.read_all(topic, 30s)), p.fallback_lines(), s);
    EXPECT_EQ(s.delivered, sent.size()) << "leader changes are retried, not failed";
}

// Runs only against a real cluster: KAFKA_LOG_TEST_BROKERS=host:port,...
TEST(RealClusterTest, DeliversToTheClusterNamedByTheEnvironment) {
    const char* brokers = std::getenv("KAFKA_LOG_TEST_BROKERS");
    if (brokers == nullptr || *brokers == '\0') {
        GTEST_SKIP()
            << "skipped: set KAFKA_LOG_TEST_BROKERS=host:port,... to run against a real cluster";
    }
    const std::string topic = std::getenv("KAFKA_LOG_TEST_TOPIC")
                                  ? std::getenv("KAFKA_LOG_TEST_TOPIC")
                                  : "kafka_log-integration";
    ClientLog log;
    auto producer = std::make_shared<RdKafkaProducer>(
        ProducerConfig{{"bootstrap.servers", brokers}}, log.options());
    TempDir dir;
    auto writer = std::make_shared<KafkaWriter>(
        producer, std::make_shared<FileFallback>(dir / "fallback.log"),
        WriterOptions{.topic = topic});
    for (int i = 0; i < 100; ++i) writer->write("real-cluster-" + std::to_string(i));
    EXPECT_TRUE(writer->flush(60s));
    writer->close(5s);
    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, 100u);
}

}  // namespace
}  // namespace kafka_log::test

namespace kafka_log::test {
namespace {

// The two ProduceOn modes keep one contract: a full queue and a too large record are
// answered before write() returns, everything else is delivered, each record exactly once.
void queue_full_and_too_large_answered_at_once(ProduceOn mode) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    ProducerConfig config = test_config(cluster, 30000);
    config.set("queue.buffering.max.messages", "50")
        .set("linger.ms", "200")
        .set("message.max.bytes", "10000");
    Pipeline p(topic, config, {}, [mode](RdKafkaOptions& o) { o.produce_on = mode; });

    std::vector<std::string> sent;
    const std::string big(20000, 'y');
    p.writer->write(big);
    EXPECT_EQ(p.writer->stats().fallback_too_large, 1u) << "answered before write() returned";
    for (int i = 0; i < 500; ++i) {
        sent.push_back("mode-" + std::to_string(static_cast<int>(mode)) + "-" + std::to_string(i));
        p.writer->write(sent.back());
    }
    EXPECT_GT(p.writer->stats().fallback_queue_full, 0u) << "answered before write() returned";
    ASSERT_TRUE(p.writer->flush(30s));
    p.writer->close(5s);

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s.delivered + s.fallback_queue_full, sent.size());
    const auto topic_records = payloads(cluster.read_all(topic, 30s));
    auto fallback = p.fallback_lines();
    EXPECT_EQ(topic_records.size(), s.delivered);
    ASSERT_FALSE(fallback.empty());
    EXPECT_EQ(fallback.front(), big);
    fallback.erase(fallback.begin());
    std::vector<std::string> everything = topic_records;
    everything.insert(everything.end(), fallback.begin(), fallback.end());
    EXPECT_THAT(everything, UnorderedElementsAreArray(sent)) << "each record exactly once";
}

TEST(ProduceOnTest, ProducerThreadAnswersQueueFullAndTooLargeAtOnce) {
    queue_full_and_too_large_answered_at_once(ProduceOn::producer_thread);
}

TEST(ProduceOnTest, CallingThreadAnswersQueueFullAndTooLargeAtOnce) {
    queue_full_and_too_large_answered_at_once(ProduceOn::calling_thread);
}

/// A one-partition topic behind a queue bound of `bound` records, whose linger keeps what is
/// produced queued for `linger_ms`.
struct BoundedQueue {
    BoundedQueue(std::uint64_t bound, const std::string& linger_ms)
        : pipeline(topic_of(cluster),
                   test_config(cluster, 30000)
                       .set("queue.buffering.max.messages", std::to_string(bound))
                       .set("linger.ms", linger_ms)) {}
    static std::string topic_of(EmbeddedCluster& cluster) {
        std::string topic = unique_topic();
        cluster.create_topic(topic, 1, 1);
        return topic;
    }
    EmbeddedCluster cluster;
    Pipeline pipeline;
};

TEST(ProduceOnTest, QueueBoundHoldsAcrossThreadsAndEachThreadStaysInOrder) {
    // Four threads log bursts into a queue bound of 400 that the linger keeps full. Each
    // thread has its own hand-off ring and takes its share of the bound in chunks; the bound
    // holds over all of them, credit comes back after each flush, and what one thread logged
    // reaches the (single) partition in its order.
    constexpr std::uint64_t bound = 400;
    BoundedQueue q(bound, "300");
    EmbeddedCluster& cluster = q.cluster;
    Pipeline& p = q.pipeline;

    constexpr int threads = 4;
    constexpr int per_round = 1000;
    std::vector<std::vector<std::string>> sent(threads);
    std::uint64_t delivered_before = 0;
    for (int round = 0; round < 2; ++round) {
        std::atomic<std::uint64_t> most_in_flight{0};
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                for (int i = 0; i < per_round; ++i) {
                    sent[t].push_back("t" + std::to_string(t) + "-" +
                                      std::to_string(round * per_round + i));
                    p.writer->write(sent[t].back());
                    const std::uint64_t now =
                        p.writer->stats().in_flight;  // one consistent snapshot
                    std::uint64_t seen = most_in_flight.load();
                    while (now > seen && !most_in_flight.compare_exchange_weak(seen, now)) {
                    }
                }
            });
        }
        for (auto& w : workers) w.join();
        ASSERT_TRUE(p.writer->flush(30s));
        // The writer's in_flight also counts a record inside write(): one a thread.
        EXPECT_LE(most_in_flight.load(), bound + threads) << "round " << round;
        const WriterStats s = p.writer->stats();
        EXPECT_TRUE(Balanced(s));
        EXPECT_GT(s.fallback_queue_full, 0u) << "round " << round << ": the bound was reached";
        // Refused only when the queue is full: at most one record's worth per other thread
        // is on its way in when one is refused.
        EXPECT_GE(s.delivered - delivered_before, bound - threads) << "round " << round;
        delivered_before = s.delivered;
    }
    p.writer->close(5s);

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s.delivered + s.fallback_queue_full,
              static_cast<std::uint64_t>(threads * 2 * per_round));
    const auto on_topic = payloads(cluster.read_all(p.topic, 30s));
    EXPECT_EQ(on_topic.size(), s.delivered);
    std::vector<std::string> everything = on_topic;
    const auto fallback = p.fallback_lines();
    everything.insert(everything.end(), fallback.begin(), fallback.end());
    std::vector<std::string> all_sent;
    for (const auto& records : sent)
        all_sent.insert(all_sent.end(), records.begin(), records.end());
    EXPECT_THAT(everything, UnorderedElementsAreArray(all_sent)) << "each record exactly once";
    // Per thread, the records on the topic keep the order they were logged in.
    std::vector<int> last(threads, -1);
    for (const std::string& record : on_topic) {
        const auto dash = record.find('-');
        const int t = std::stoi(record.substr(1, dash - 1));
        const int seq = std::stoi(record.substr(dash + 1));
        EXPECT_GT(seq, last[t]) << record << " after " << last[t];
        last[t] = seq;
    }
}

TEST(ProduceOnTest, ThreadsThatStoppedLoggingHoldNoShareOfTheQueueBound) {
    // Seven threads log one record each and stop, keeping the rest of the chunk of credit
    // they took. One more thread then fills the queue: it gets exactly the bound, no less
    // (the idle credit is brought back) and no more. The linger keeps everything queued (10 s:
    // under ThreadSanitizer on a busy machine, the thousand writes took more than 3 s).
    constexpr std::uint64_t bound = 1000;
    BoundedQueue q(bound, "10000");
    Pipeline& p = q.pipeline;

    std::vector<std::string> sent;
    for (int t = 0; t < 7; ++t) {
        sent.push_back("idle-" + std::to_string(t));
        std::thread([&] { p.writer->write(sent.back()); }).join();
    }
    std::thread([&] {
        while (sent.size() < bound) {
            sent.push_back("busy-" + std::to_string(sent.size()));
            p.writer->write(sent.back());
        }
        EXPECT_EQ(p.writer->stats().fallback_queue_full, 0u) << "refused below the bound";
        sent.push_back("one-too-many");
        p.writer->write(sent.back());
        EXPECT_EQ(p.writer->stats().fallback_queue_full, 1u) << "the bound holds";
    }).join();
    EXPECT_EQ(p.producer->in_flight(), bound) << "nothing was delivered yet: the linger holds it";

    ASSERT_TRUE(p.writer->flush(30s));
    p.writer->close(5s);
    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, bound);
    EXPECT_THAT(p.fallback_lines(), ElementsAre("one-too-many"));
    sent.pop_back();
    EXPECT_THAT(payloads(q.cluster.read_all(p.topic, 30s)), UnorderedElementsAreArray(sent));
}

TEST(ProduceOnTest, AFullHandoffRingLeavesNoRecordBehind) {
    // Two ring slots for four threads: most records meet a full ring and are handed to
    // librdkafka by their own thread; none is lost, none goes to the fallback.
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 4, 1);
    Pipeline p(topic, test_config(cluster, 30000), {},
               [](RdKafkaOptions& o) { o.handoff_slots = 2; });
    constexpr int threads = 4;
    constexpr int per_thread = 5000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i)
                p.writer->write("ring-" + std::to_string(t) + "-" + std::to_string(i));
        });
    }
    for (auto& w : workers) w.join();
    ASSERT_TRUE(p.writer->flush(30s));
    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(threads * per_thread));
    EXPECT_EQ(s.delivered, s.submitted);
    EXPECT_EQ(s.fallback_total(), 0u);
    const auto on_topic = counts(payloads(cluster.read_all(topic, 30s)));
    EXPECT_EQ(on_topic.size(), s.submitted);
    for (const auto& [record, n] : on_topic) ASSERT_EQ(n, 1) << record;
    EXPECT_THAT(p.fallback_lines(), IsEmpty());
}

TEST(ProduceOnTest, AThreadThatFindsItsRingFullEmptiesItInOrder) {
    // The producer thread is held in a delivery report while one thread logs 2 000 records
    // through a 4-slot ring. That thread hands the ring's oldest records to librdkafka
    // itself before queueing its own, so the partition holds them in the order logged.
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    RdKafkaOptions options;
    options.handoff_slots = 4;
    RdKafkaProducer producer(test_config(cluster, 30000), options);
    std::mutex mutex;
    std::condition_variable cv;
    bool held = false;
    bool release = false;
    std::uint64_t delivered = 0;
    std::uint64_t failed = 0;
    producer.set_delivery_handler([&](const DeliveryReport& r) {
        std::unique_lock lock(mutex);
        ++(r.error ? failed : delivered);
        if (!held) {
            held = true;
            cv.notify_all();
            cv.wait(lock, [&] { return release; });
        }
    });
    constexpr int records = 2000;
    std::vector<std::string> sent;
    sent.push_back("ordered-0");
    ASSERT_EQ(producer.produce({topic, "", sent.back()}), ProduceStatus::accepted);
    {
        std::unique_lock lock(mutex);
        ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return held; }))
            << "the first record was never reported";
    }
    for (int i = 1; i < records; ++i) {
        sent.push_back("ordered-" + std::to_string(i));
        ASSERT_EQ(producer.produce({topic, "", sent.back()}), ProduceStatus::accepted) << i;
    }
    {
        std::lock_guard lock(mutex);
        release = true;
    }
    cv.notify_all();
    ASSERT_TRUE(producer.flush(30s));
    {
        std::lock_guard lock(mutex);
        EXPECT_EQ(failed, 0u);
        EXPECT_EQ(delivered + failed + producer.in_flight(), static_cast<std::uint64_t>(records));
        EXPECT_EQ(delivered, static_cast<std::uint64_t>(records));
    }
    producer.close(5s);
    EXPECT_EQ(payloads(cluster.read_all(topic, 30s)), sent);
}

}  // namespace
}  // namespace kafka_log::test
