// SPDX-License-Identifier: Apache-2.0
// A real producer on the embedded cluster with the spool as the fallback: every record counted
// in a fallback bucket is in the spool, whole, with its reason; and once the cluster is back the
// writer's drain sends it all to the topic (a whole-run outage, a flapping broker).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration_support.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "kafka_log/spool_reader.hpp"

namespace kafka_log::test {
namespace {

TEST(SpoolIntegrationTest, ClusterDownForTheWholeRunEveryRecordIsInTheSpoolWithItsReason) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    cluster.set_broker_down(1);

    TempDir tmp;
    const auto dir = tmp / "spool";
    ClientLog client_log;
    WriterStats s;
    constexpr int total = 2000;
    {
        auto producer =
            std::make_shared<RdKafkaProducer>(test_config(cluster, 1500), client_log.options());
        auto spool = std::make_shared<SpoolFallback>(dir, SpoolOptions{.segment_bytes = 64 * 1024});
        WriterOptions options;
        options.topic = topic;
        options.breaker_backoff = 200ms;
        options.breaker_max_backoff = 1s;
        KafkaWriter writer(producer, spool, options);
        // One record at a time until the client finds the cluster unreachable, then the rest.
        int i = 0;
        ASSERT_TRUE(wait_until(
            [&] {
                writer.write("record-" + std::to_string(i), "key-" + std::to_string(i));
                ++i;
                return writer.breaker_open() || i == total;
            },
            20s));
        for (; i < total; ++i)
            writer.write("record-" + std::to_string(i), "key-" + std::to_string(i));
        writer.close(3s);
        s = writer.stats();
        if (HasFailure()) {
            for (const auto& line : client_log.lines())
                std::cerr << "  librdkafka: " << line << "\n";
        }
    }

    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(total));
    EXPECT_EQ(s.delivered, 0u);
    EXPECT_EQ(s.lost + s.in_flight, 0u);
    EXPECT_EQ(s.fallback_total(), s.submitted);
    EXPECT_GT(s.fallback_unreachable, 0u);
    EXPECT_EQ(s.fallback_queue_full + s.fallback_too_large + s.fallback_reentrant, 0u);

    SpoolReader reader(dir);
    std::map<FallbackReason, std::uint64_t> reasons;
    std::set<std::string> payloads;
    SpoolRecord r;
    while (reader.next(r)) {
        ++reasons[r.reason];
        EXPECT_EQ(r.topic, topic);
        ASSERT_TRUE(r.payload.starts_with("record-")) << r.payload;
        const std::string n = r.payload.substr(7);
        EXPECT_EQ(r.key, "key-" + n);
        EXPECT_TRUE(payloads.insert(r.payload).second) << "twice: " << r.payload;
        if (r.reason == FallbackReason::delivery_failed || r.reason == FallbackReason::closed) {
            EXPECT_NE(r.error, 0) << r.payload << " failed with an error code";
        }
    }
    EXPECT_EQ(reader.stats().corrupt, 0u);
    EXPECT_EQ(reader.stats().records, s.fallback_total());
    EXPECT_EQ(payloads.size(), static_cast<std::size_t>(total));
    EXPECT_EQ(reasons[FallbackReason::unreachable], s.fallback_unreachable);
    EXPECT_EQ(reasons[FallbackReason::delivery_failed], s.fallback_delivery_failed);
    EXPECT_EQ(reasons[FallbackReason::closed], s.fallback_closed);
    for (const auto& [reason, n] : reasons) {
        EXPECT_TRUE(reason == FallbackReason::unreachable ||
                    reason == FallbackReason::delivery_failed || reason == FallbackReason::closed)
            << to_string(reason);
    }

    cluster.set_broker_up(1);
    EXPECT_EQ(cluster.message_count(topic), 0u) << "nothing reached the topic";
    EXPECT_TRUE(cluster.read_all(topic, 10s).empty());
}

/// The length of the longest strictly increasing subsequence of `values`.
std::size_t longest_increasing_run(const std::vector<int>& values) {
    std::vector<int> tails;  // tails[k]: the least last value of an increasing run of k + 1
    for (const int v : values) {
        const auto at = std::lower_bound(tails.begin(), tails.end(), v);
        if (at == tails.end()) {
            tails.push_back(v);
        } else {
            *at = v;
        }
    }
    return tails.size();
}

TEST(SpoolIntegrationTest,
     AnOutageOfTheWholeRunThenUpEveryRecordReachesTheTopicOnceAndTheSpoolEmpties) {
    // Two logging threads, 100 000 records, the cluster down the whole time; then up.
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 4, 1);
    cluster.set_broker_down(1);

    TempDir tmp;
    const auto dir = tmp / "spool";
    ClientLog client_log;
    constexpr int threads = 2;
    constexpr int per_thread = 50000;
    constexpr int total = threads * per_thread;
    auto producer =
        std::make_shared<RdKafkaProducer>(test_config(cluster, 1500), client_log.options());
    auto spool = std::make_shared<SpoolFallback>(
        dir, SpoolOptions{.segment_bytes = 1 << 20, .replay_rate = 200000});
    WriterOptions options;
    options.topic = topic;
    options.breaker_backoff = 200ms;
    options.breaker_max_backoff = 1s;
    KafkaWriter writer(producer, spool, options);
    // A thread's records share its key (one partition): the topic shows each thread's order.
    auto write = [&writer](int thread, int n) {
        writer.write("t" + std::to_string(thread) + "-" + std::to_string(n),
                     "thread-" + std::to_string(thread));
    };
    int first = 0;  // thread 0's records written until the breaker opened
    ASSERT_TRUE(wait_until(
        [&] {
            write(0, first++);
            return writer.breaker_open() || first == per_thread;
        },
        20s));
    {
        std::vector<std::thread> loggers;
        for (int t = 0; t < threads; ++t) {
            loggers.emplace_back([&write, t, from = t == 0 ? first : 0] {
                for (int n = from; n < per_thread; ++n) write(t, n);
            });
        }
        for (auto& l : loggers) l.join();
    }
    // Everything the producer had queued fails (message.timeout.ms) into the spool.
    ASSERT_TRUE(wait_until([&] { return writer.stats().in_flight == 0; }, 30s));
    WriterStats s = writer.stats();
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(total));
    EXPECT_EQ(s.delivered, 0u);
    EXPECT_EQ(s.fallback_total(), static_cast<std::uint64_t>(total));
    EXPECT_EQ(s.spooled + s.replayed, static_cast<std::uint64_t>(total));
    // Records handed to the producer (before the breaker opened, and its probes) come back
    // into the spool when they time out, after records written later: the only ones out of
    // their thread's order.
    const std::uint64_t sent_then_failed = s.fallback_total() - s.fallback_unreachable;

    cluster.set_broker_up(1);
    ASSERT_TRUE(wait_until(
        [&] {
            const WriterStats now = writer.stats();
            return now.spooled == 0 && now.replayed >= static_cast<std::uint64_t>(total);
        },
        90s))
        << "replayed " << writer.stats().replayed << ", spooled " << writer.stats().spooled;
    writer.close(5s);
    s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.replayed, static_cast<std::uint64_t>(total));

    // On the topic: every record, once (a second copy only of a record flagged possibly
    // persisted), with its key and the replay headers; each thread's records in its order but
    // for those sent and failed.
    const std::vector<TopicRecord> on_topic = cluster.read_all(topic, 30s);
    std::map<std::string, int> copies;
    std::set<std::string> ids;
    std::vector<std::vector<int>> order(
        threads);  // each thread's numbers, first copies, as on the topic
    for (const TopicRecord& r : on_topic) {
        int thread = -1;
        int n = -1;
        ASSERT_EQ(std::sscanf(r.payload.c_str(), "t%d-%d", &thread, &n), 2) << r.payload;
        ASSERT_TRUE(thread >= 0 && thread < threads && n >= 0 && n < per_thread) << r.payload;
        EXPECT_EQ(r.key, "thread-" + std::to_string(thread));
        ASSERT_NE(r.header("kafka_log.id"), nullptr) << r.payload;
        ASSERT_NE(r.header("kafka_log.replayed"), nullptr) << r.payload;
        ids.insert(*r.header("kafka_log.id"));
        if (++copies[r.payload] == 1) order[static_cast<std::size_t>(thread)].push_back(n);
    }
    EXPECT_EQ(copies.size(), static_cast<std::size_t>(total));
    std::uint64_t duplicates = 0;
    for (const auto& [payload, n] : copies) duplicates += static_cast<std::uint64_t>(n - 1);
    EXPECT_LE(duplicates, s.possibly_persisted);
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(total)) << "one id per record";
    std::uint64_t out_of_order = 0;
    for (const auto& numbers : order) {
        EXPECT_EQ(numbers.size(), static_cast<std::size_t>(per_thread));
        out_of_order += numbers.size() - longest_increasing_run(numbers);
    }
    EXPECT_LE(out_of_order, sent_then_failed)
        << "every record that went straight to the spool reaches the topic in its thread's order";
    std::cout << "outage: " << sent_then_failed << " records sent then failed, " << out_of_order
              << " out of their thread's order, " << duplicates << " duplicates; drain: passes "
              << writer.drain_stats().passes << ", failures " << writer.drain_stats().failures
              << "\n";

    // The spool is empty: no segment left, nothing to read.
    SpoolReader reader(dir);
    SpoolRecord r;
    EXPECT_FALSE(reader.next(r));
    EXPECT_TRUE(reader.segments().empty());
    if (HasFailure()) {
        for (const auto& line : client_log.lines()) std::cerr << "  librdkafka: " << line << "\n";
    }
}

TEST(SpoolIntegrationTest, UnderAFlappingBrokerEveryRecordReachesTheTopicLiveOrReplayed) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 4, 1);
    TempDir tmp;
    const auto dir = tmp / "spool";
    ClientLog client_log;
    auto producer =
        std::make_shared<RdKafkaProducer>(test_config(cluster, 1500), client_log.options());
    auto spool = std::make_shared<SpoolFallback>(
        dir, SpoolOptions{.segment_bytes = 1 << 20, .replay_rate = 50000});
    KafkaWriter writer(producer, spool, WriterOptions{.topic = topic});  // the default breaker

    std::atomic<bool> stop{false};
    std::atomic<int> written{0};
    std::thread load([&] {
        while (!stop.load()) {
            const int i = written.fetch_add(1);
            writer.write("flap-" + std::to_string(i), "key-" + std::to_string(i % 16));
            std::this_thread::sleep_for(200us);  // pacing the load (about 5 000 records a second)
        }
    });
    ASSERT_TRUE(wait_until([&] { return writer.stats().delivered >= 100; }, 20s));
    // The broker flaps: 200 ms down, 200 ms up, for 3 s.
    const auto flapping_end = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < flapping_end) {
        cluster.set_broker_down(1);
        std::this_thread::sleep_for(200ms);  // the fault's own timing, not a wait for the code
        cluster.set_broker_up(1);
        std::this_thread::sleep_for(200ms);
    }
    stop = true;
    load.join();
    const int total = written.load();
    // Everything reaches Kafka: live, or from the spool once the broker stays up.
    ASSERT_TRUE(wait_until(
        [&] {
            const WriterStats now = writer.stats();
            return now.in_flight == 0 && now.spooled == 0;
        },
        90s))
        << "in flight " << writer.stats().in_flight << ", spooled " << writer.stats().spooled;
    writer.close(5s);
    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(total));
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.replayed, s.fallback_total()) << "every spooled record was sent back";
    std::cout << total << " records, " << s.delivered << " live, " << s.fallback_total()
              << " through the spool (" << 100.0 * static_cast<double>(s.fallback_total()) / total
              << " %)\n";

    // The copies of each record: live ones, replayed ones, and replayed ones flagged
    // `possibly-duplicate` (the drain sent the record again after a send that may have reached
    // Kafka, live or replayed).
    struct Copies {
        int live = 0;
        int replayed = 0;
        int flagged = 0;
    };
    std::map<std::string, Copies> copies;
    std::uint64_t replayed_on_topic = 0;
    for (const TopicRecord& r : cluster.read_all(topic, 30s)) {
        Copies& c = copies[r.payload];
        const std::string* value = r.header("kafka_log.replayed");
        if (value == nullptr) {
            ++c.live;
            continue;
        }
        ++c.replayed;
        ++replayed_on_topic;
        if (*value == "possibly-duplicate") ++c.flagged;
    }
    EXPECT_EQ(copies.size(), static_cast<std::size_t>(total)) << "every record is on the topic";
    // kafka_log may send a record twice only when it flagged the second send. A record on the
    // topic more than once with no flagged copy is held against it when one copy is live and
    // one replayed: the writer spooled a record it was told never reached Kafka. Copies that
    // all came from one path are the producer's own retries of one send, which the mock cluster
    // does not de-duplicate across a broker going down and up (a real broker with idempotence
    // does): counted and printed, not held against the spool.
    std::uint64_t flagged_copies = 0;
    std::uint64_t flagged_records = 0;
    std::uint64_t unflagged = 0;
    std::uint64_t producer_retries = 0;
    for (const auto& [payload, c] : copies) {
        const int extra = c.live + c.replayed - 1;
        if (extra <= 0) continue;
        if (c.flagged > 0) {
            flagged_copies += static_cast<std::uint64_t>(extra);
            ++flagged_records;
        } else if (c.live > 0 && c.replayed > 0) {
            unflagged += static_cast<std::uint64_t>(extra);
            ADD_FAILURE() << payload << ": " << c.live << " live and " << c.replayed
                          << " replayed copies, none flagged possibly-duplicate";
        } else {
            producer_retries += static_cast<std::uint64_t>(extra);
        }
    }
    std::cout << flagged_copies << " extra copies flagged possibly-duplicate, " << producer_retries
              << " extra copies from the producer's retries\n";
    EXPECT_EQ(unflagged, 0u);
    EXPECT_LE(flagged_records, s.possibly_persisted + s.replayed_possibly_duplicate)
        << "a record on the topic twice and flagged was counted as possibly on Kafka";
    EXPECT_GE(replayed_on_topic, s.replayed);
    SpoolReader reader(dir);
    SpoolRecord r;
    EXPECT_FALSE(reader.next(r)) << "the spool is empty";
    if (HasFailure()) {
        for (const auto& line : client_log.lines()) std::cerr << "  librdkafka: " << line << "\n";
    }
}

}  // namespace
}  // namespace kafka_log::test
