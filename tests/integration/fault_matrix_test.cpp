// SPDX-License-Identifier: Apache-2.0
// The fault matrix (docs/reliability.md, "The fault matrix"), the cluster's faults: one test a
// row, each a real producer on the embedded cluster with the spool as the writer's fallback.
// Each sends a known number of records with unique payloads, injects its fault, and then reads
// the topic and the spool back (fault_matrix_support.hpp): the no-loss identity with nothing in
// flight, every record found, the counts read back equal to the writer's counters bucket by
// bucket, and no more duplicates than records flagged possibly persisted.
//
// The writer's drain (which sends the spool back to Kafka while the cluster is reachable) is on
// where the cluster comes back (ClusterDownThenUp, FlappingBroker, and ClusterDownForTheWholeRun
// as a writer is configured by default); elsewhere it is off, so that the spool keeps exactly
// what the fault put there, reason by reason.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fault_matrix_support.hpp"

namespace kafka_log::test {
namespace {

/// "<phase>-<n>": payloads unique within a test.
std::string record(const std::string& phase, std::size_t n) {
    return phase + "-" + std::to_string(n);
}

WriterStats closed_stats(SpoolRig& rig, std::chrono::milliseconds timeout) {
    rig.writer->close(timeout);
    return rig.writer->stats();
}

TEST(FaultMatrix, ClusterDownForTheWholeRun) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    cluster.set_broker_down(1);
    SpoolRig rig(topic, test_config(cluster, 1500), Replay::on);

    constexpr std::size_t total = 2000;
    // One record at a time until the client finds the cluster unreachable, then the rest.
    ASSERT_TRUE(wait_until(
        [&] {
            rig.write(record("down", rig.sent.size()));
            return rig.writer->breaker_open() || rig.sent.size() == total;
        },
        20s));
    while (rig.sent.size() < total) rig.write(record("down", rig.sent.size()));
    const WriterStats s = closed_stats(rig, 3s);

    cluster.set_broker_up(1);  // only to read the topic back: nothing may be on it
    const Tally t = expect_every_record_accounted(rig, s, read_back(cluster, rig));
    EXPECT_EQ(s.delivered, 0u);
    EXPECT_EQ(s.replayed, 0u);
    EXPECT_EQ(t.fallback, total);
    EXPECT_GT(s.fallback_unreachable, 0u) << "the breaker sent records straight to the spool";
    EXPECT_EQ(s.fallback_queue_full + s.fallback_too_large + s.fallback_reentrant, 0u);
}

TEST(FaultMatrix, ClusterDownThenUp) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 2, 1);
    SpoolRig rig(topic, test_config(cluster, 1500), Replay::on);

    for (std::size_t i = 0; i < 500; ++i) rig.write(record("up", i));
    ASSERT_TRUE(rig.writer->flush(10s)) << "nothing in flight when the cluster goes down";

    cluster.set_broker_down(1);
    ASSERT_TRUE(wait_until(
        [&] {
            rig.write(record("down", rig.sent.size()));
            return rig.writer->breaker_open();
        },
        20s));
    for (std::size_t i = 0; i < 1000; ++i) rig.write(record("down-open", i));
    // What the producer had fails after message.timeout.ms; then the spool holds every record
    // not delivered, bucket by bucket (nothing can be sent back while the cluster is down).
    ASSERT_TRUE(wait_until([&] { return rig.writer->stats().in_flight == 0; }, 20s));
    const WriterStats down = rig.writer->stats();
    EXPECT_TRUE(Balanced(down));
    EXPECT_EQ(down.delivered, 500u);
    EXPECT_EQ(down.replayed, 0u);
    EXPECT_EQ(down.fallback_total(), down.submitted - 500);
    expect_spool_matches(rig, down, read_spool(rig));

    cluster.set_broker_up(1);
    // Keep logging: the breaker's probe (or the drain's) finds the cluster back.
    ASSERT_TRUE(wait_until(
        [&] {
            rig.write(record("back", rig.sent.size()));
            return !rig.writer->breaker_open();
        },
        30s));
    for (std::size_t i = 0; i < 500; ++i) rig.write(record("resumed", i));
    ASSERT_TRUE(rig.writer->flush(20s));
    // The writer sends its spool back by itself.
    ASSERT_TRUE(wait_until(
        [&] {
            const WriterStats now = rig.writer->stats();
            return now.in_flight == 0 && now.spooled == 0;
        },
        60s))
        << "spooled " << rig.writer->stats().spooled;
    const WriterStats s = closed_stats(rig, 5s);

    const Tally t = expect_every_record_accounted(rig, s, read_back(cluster, rig));
    EXPECT_EQ(s.replayed, s.fallback_total()) << "the whole spool went back to Kafka";
    EXPECT_EQ(t.replayed, s.fallback_total());
    EXPECT_GE(s.delivered, 1000u) << "the records before the outage and after it, live";
}

TEST(FaultMatrix, FlappingBroker) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 4, 1);
    SpoolRig rig(topic, test_config(cluster, 1500), Replay::on, WriterOptions{});  // defaults

    constexpr std::size_t total = 4000;
    std::atomic<bool> done{false};
    std::thread load([&] {
        for (std::size_t i = 0; i < total; ++i) {
            rig.write(record("flap", i));
            std::this_thread::sleep_for(500us);  // pacing the load (under 2 000 records a second)
        }
        done = true;
    });
    // The broker flaps while the load runs: 300 ms down, 300 ms up; it ends up.
    while (!done.load()) {
        cluster.set_broker_down(1);
        std::this_thread::sleep_for(300ms);  // the fault's own timing, not a wait for the code
        cluster.set_broker_up(1);
        std::this_thread::sleep_for(300ms);
    }
    load.join();
    ASSERT_TRUE(wait_until(
        [&] {
            const WriterStats now = rig.writer->stats();
            return now.in_flight == 0 && now.spooled == 0;
        },
        60s))
        << "in flight " << rig.writer->stats().in_flight << ", spooled "
        << rig.writer->stats().spooled;
    const WriterStats s = closed_stats(rig, 5s);

    // A producer's retry across the broker going down and up may be kept twice by the mock
    // cluster (a real broker de-duplicates it): those live copies are counted apart.
    const Tally t = expect_every_record_accounted(rig, s, read_back(cluster, rig),
                                                  AccountingOptions{.live_retry_copies = true});
    EXPECT_EQ(s.submitted, total);
    EXPECT_EQ(s.replayed, s.fallback_total()) << "every spooled record went back to Kafka";
    EXPECT_EQ(t.live + t.fallback, total);
}

TEST(FaultMatrix, SlowBrokerBeyondMessageTimeout) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    SpoolRig rig(topic, test_config(cluster, 1000), Replay::off);
    rig.write("warm-up");  // connection and producer id set up before the broker slows down
    ASSERT_TRUE(rig.writer->flush(10s));

    cluster.set_broker_rtt(1, 2500);  // every answer comes after message.timeout.ms
    for (std::size_t i = 0; i < 1000; ++i) rig.write(record("slow", i));
    ASSERT_TRUE(wait_until([&] { return rig.writer->stats().in_flight == 0; }, 20s));
    const WriterStats slow = rig.writer->stats();
    EXPECT_EQ(slow.delivered, 1u);
    EXPECT_EQ(slow.fallback_total(), 1000u) << "every slow record timed out into the spool";
    EXPECT_GT(slow.fallback_delivery_failed, 0u);
    EXPECT_GT(slow.possibly_persisted, 0u) << "records on the wire when they timed out";

    cluster.set_broker_rtt(1, 0);
    // Quick again: keep logging until a record is delivered, then 500 more.
    ASSERT_TRUE(wait_until(
        [&] {
            rig.write(record("quick", rig.sent.size()));
            return rig.writer->stats().delivered > 1;
        },
        30s));
    for (std::size_t i = 0; i < 500; ++i) rig.write(record("after", i));
    ASSERT_TRUE(rig.writer->flush(10s));
    const WriterStats s = closed_stats(rig, 2s);

    expect_every_record_accounted(rig, s, read_back(cluster, rig));
    EXPECT_GE(s.delivered, 502u);
}

TEST(FaultMatrix, LeaderMoves) {
    EmbeddedCluster cluster(3);
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 2, 3);
    cluster.set_partition_leader(topic, 0, 1);
    cluster.set_partition_leader(topic, 1, 2);
    SpoolRig rig(topic, test_config(cluster, 15000), Replay::off);

    for (std::size_t i = 0; i < 3000; ++i) {
        if (i == 1000) {
            cluster.set_partition_leader(topic, 0, 2);
            cluster.set_partition_leader(topic, 1, 3);
        }
        if (i == 2000) {
            cluster.set_partition_leader(topic, 0, 3);
            cluster.set_partition_leader(topic, 1, 1);
        }
        rig.write(record("leader-move", i));
    }
    ASSERT_TRUE(rig.writer->flush(30s));
    const WriterStats s = closed_stats(rig, 5s);

    const Tally t = expect_every_record_accounted(rig, s, read_back(cluster, rig));
    EXPECT_EQ(s.delivered, 3000u) << "a leader change is retried, not failed";
    EXPECT_EQ(t.duplicates, 0u);
}

TEST(FaultMatrix, QueueFull) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    ProducerConfig config = test_config(cluster, 30000);
    config.set("queue.buffering.max.messages", "50").set("linger.ms", "200");
    SpoolRig rig(topic, config, Replay::off);

    for (std::size_t burst = 0; burst < 3; ++burst) {
        for (std::size_t i = 0; i < 500; ++i)
            rig.write(record("burst-" + std::to_string(burst), i));
        ASSERT_TRUE(rig.writer->flush(30s));
    }
    const WriterStats s = closed_stats(rig, 5s);

    const Tally t = expect_every_record_accounted(rig, s, read_back(cluster, rig));
    EXPECT_GT(s.fallback_queue_full, 0u);
    EXPECT_GE(s.delivered, 150u) << "each burst fills the queue's 50 places at least";
    EXPECT_EQ(s.delivered + s.fallback_queue_full, 1500u);
    EXPECT_EQ(t.duplicates, 0u);
}

TEST(FaultMatrix, RecordTooLarge) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    ProducerConfig config = test_config(cluster);
    config.set("message.max.bytes", "10000");
    SpoolRig rig(topic, config, Replay::off);

    std::vector<std::string> large;
    for (std::size_t i = 0; i < 1000; ++i) {
        std::string payload = record("sized", i);
        if (i % 10 == 0) {
            payload.resize(20000, 'x');  // over message.max.bytes
            large.push_back(payload);
        }
        rig.write(payload);
    }
    ASSERT_TRUE(rig.writer->flush(10s));
    const WriterStats s = closed_stats(rig, 2s);

    const ReadBack back = read_back(cluster, rig);
    expect_every_record_accounted(rig, s, back);
    EXPECT_EQ(s.fallback_too_large, 100u);
    EXPECT_EQ(s.delivered, 900u);
    std::vector<std::string> spooled;
    for (const SpoolRecord& r : back.spool.records) spooled.push_back(r.payload);
    EXPECT_EQ(spooled, large) << "stored whole, byte for byte, in the order written";
}

TEST(FaultMatrix, RetriableProduceErrors) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    SpoolRig rig(topic, test_config(cluster, 10000), Replay::off);
    rig.write("warm-up");
    ASSERT_TRUE(rig.writer->flush(10s));

    constexpr int not_leader_for_partition = 6;
    constexpr int request_timed_out = 7;
    constexpr int not_enough_replicas = 19;
    cluster.push_produce_errors(3, not_leader_for_partition);
    cluster.push_produce_errors(2, request_timed_out);
    cluster.push_produce_errors(2, not_enough_replicas);
    for (std::size_t i = 0; i < 1000; ++i) rig.write(record("retried", i));
    ASSERT_TRUE(rig.writer->flush(20s));
    const WriterStats s = closed_stats(rig, 2s);

    const Tally t = expect_every_record_accounted(rig, s, read_back(cluster, rig));
    EXPECT_EQ(s.delivered, 1001u) << "retried by librdkafka and delivered";
    EXPECT_EQ(s.fallback_total(), 0u);
    EXPECT_EQ(t.duplicates, 0u);
}

TEST(FaultMatrix, FatalProduceErrors) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    SpoolRig rig(topic, test_config(cluster, 10000), Replay::off);
    rig.write("warm-up");
    ASSERT_TRUE(rig.writer->flush(10s));

    // INVALID_RECORD refuses one request: one record a request, exactly the three fail.
    constexpr int invalid_record = 87;
    cluster.push_produce_errors(3, invalid_record);
    for (std::size_t i = 0; i < 3; ++i) {
        rig.write(record("refused", i));
        ASSERT_TRUE(rig.writer->flush(10s));
    }
    EXPECT_EQ(rig.writer->stats().fallback_delivery_failed, 3u);
    // In the middle of a stream (ten bursts of 100): a refused request fails all of its
    // records, and the bursts after it are delivered.
    cluster.push_produce_errors(2, invalid_record);
    for (std::size_t burst = 0; burst < 10; ++burst) {
        for (std::size_t i = 0; i < 100; ++i)
            rig.write(record("stream-" + std::to_string(burst), i));
        ASSERT_TRUE(rig.writer->flush(10s));
    }
    const WriterStats before = rig.writer->stats();
    EXPECT_GE(before.fallback_delivery_failed, 5u) << "each refused request held a record";
    EXPECT_LE(before.fallback_delivery_failed, 203u) << "two bursts at most were refused";
    EXPECT_GE(before.delivered, 801u) << "the bursts after the refused ones are delivered";

    // TOPIC_AUTHORIZATION_FAILED: librdkafka then holds the topic unauthorized (until a later
    // metadata refresh) and fails its records at once; none waits for message.timeout.ms.
    constexpr int topic_authorization_failed = 29;
    cluster.push_produce_errors(1, topic_authorization_failed);
    for (std::size_t i = 0; i < 500; ++i) rig.write(record("unauthorized", i));
    ASSERT_TRUE(rig.writer->flush(10s));
    const WriterStats s = closed_stats(rig, 2s);

    const ReadBack back = read_back(cluster, rig);
    const Tally t = expect_every_record_accounted(rig, s, back);
    EXPECT_EQ(s.fallback_total(), s.fallback_delivery_failed);
    EXPECT_GT(s.fallback_delivery_failed, before.fallback_delivery_failed);
    EXPECT_EQ(s.possibly_persisted, 0u) << "a refused record is not on Kafka";
    EXPECT_EQ(t.duplicates, 0u);
    for (const SpoolRecord& r : back.spool.records) {
        EXPECT_EQ(r.error, r.payload.starts_with("unauthorized") ? topic_authorization_failed
                                                                 : invalid_record)
            << r.payload;
        EXPECT_FALSE(r.possibly_persisted) << r.payload;
    }
}

TEST(FaultMatrix, CloseWithRecordsInFlight) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    SpoolRig rig(topic, test_config(cluster, 10000), Replay::off);
    rig.write("warm-up");  // connection and producer id set up before the slow part
    ASSERT_TRUE(rig.writer->flush(10s));

    cluster.set_broker_rtt(1, 3000);
    for (std::size_t i = 0; i < 1000; ++i) rig.write(record("in-flight", i));
    EXPECT_FALSE(rig.writer->flush(200ms)) << "the broker answers after 3 s";
    const WriterStats s = closed_stats(rig, 500ms);  // before the broker answers

    cluster.set_broker_rtt(1, 0);
    const Tally t = expect_every_record_accounted(rig, s, read_back(cluster, rig));
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.fallback_closed, 1000u) << "purged by close into the spool";
    EXPECT_GT(s.possibly_persisted, 0u) << "requests were on the wire when purged";
    EXPECT_EQ(t.fallback, 1000u);
}

}  // namespace
}  // namespace kafka_log::test
