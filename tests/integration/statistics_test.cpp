// SPDX-License-Identifier: Apache-2.0
// librdkafka's statistics (statistics.interval.ms) on the embedded cluster: the raw JSON
// reaches RdKafkaOptions::stats_callback within a deadline, and the queue depth and the
// brokers' round trip reach WriterStats::client; records still flow and are accounted. A
// confirmation without an offset is counted, statistics on or off.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration_support.hpp"
#include "kafka_log/prometheus.hpp"
#include "kafka_log/testing/topic_reader.hpp"
#include "prometheus_parse.hpp"

namespace kafka_log::test {
namespace {

/// The documents the callback received.
struct Documents {
    std::mutex mutex;
    std::condition_variable arrived;
    std::vector<std::string> all;

    void add(std::string_view json) {
        std::lock_guard lock(mutex);
        all.emplace_back(json);
        arrived.notify_all();
    }
    /// Waits for the document after the first `seen` ones; false at the deadline.
    bool wait_beyond(std::size_t seen, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(mutex);
        return arrived.wait_for(lock, timeout, [&] { return all.size() > seen; });
    }
    std::size_t size() {
        std::lock_guard lock(mutex);
        return all.size();
    }
};

ProducerConfig with_statistics(ProducerConfig config) {
    config.set("statistics.interval.ms", "100");
    return config;
}

TEST(StatisticsTest, TheCallbackReceivesLibrdkafkasJsonWithinADeadline) {
    EmbeddedCluster cluster;
    Documents documents;
    Pipeline p(unique_topic(), with_statistics(test_config(cluster)), {}, [&](RdKafkaOptions& o) {
        o.stats_callback = [&](std::string_view json) { documents.add(json); };
    });
    p.writer->write("one");
    ASSERT_TRUE(documents.wait_beyond(0)) << "no statistics within 10 s";
    std::string first;
    {
        std::lock_guard lock(documents.mutex);
        first = documents.all.front();
    }
    const auto json = nlohmann::json::parse(first);  // throws when it is not JSON
    EXPECT_EQ(json.at("type"), "producer");
    EXPECT_TRUE(json.contains("msg_cnt"));
    EXPECT_TRUE(json.at("brokers").is_object());

    ASSERT_TRUE(p.writer->flush(10s));
    const WriterStats stats = p.writer->stats();
    EXPECT_GE(stats.client.reports, 1u);
    EXPECT_EQ(stats.client.malformed_reports, 0u);
    EXPECT_EQ(stats.client.callback_failures, 0u);
    EXPECT_TRUE(Balanced(stats));
    EXPECT_EQ(payloads(cluster.read_all(p.topic, 10s)), std::vector<std::string>{"one"});
}

TEST(StatisticsTest, WithoutTheIntervalNoStatisticsAreAskedFor) {
    EmbeddedCluster cluster;
    Documents documents;
    Pipeline p(unique_topic(), test_config(cluster), {}, [&](RdKafkaOptions& o) {
        o.stats_callback = [&](std::string_view json) { documents.add(json); };
    });
    p.writer->write("one");
    ASSERT_TRUE(p.writer->flush(10s));
    p.writer->close(5s);
    EXPECT_EQ(documents.size(), 0u);
    EXPECT_EQ(p.writer->stats().client.reports, 0u);
}

TEST(StatisticsTest, QueueDepthAndRoundTripReachTheWriterStatsAndTheScrape) {
    EmbeddedCluster cluster;
    cluster.set_broker_rtt(1, 300);  // records wait in the queue: a depth and a round trip
    Documents documents;
    Pipeline p(unique_topic(), with_statistics(test_config(cluster, 10000)), {},
               [&](RdKafkaOptions& o) {
                   o.stats_callback = [&](std::string_view json) {
                       documents.add(json);
                       throw std::runtime_error("a callback that throws");  // counted, not fatal
                   };
               });
    std::vector<std::string> sent;
    ClientStats seen_queue;
    ClientStats seen_rtt;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while ((seen_queue.queue_records == 0 || seen_rtt.broker_rtt_avg_us == 0) &&
           std::chrono::steady_clock::now() < deadline) {
        for (int i = 0; i < 20; ++i) {
            sent.push_back("record " + std::to_string(sent.size()));
            p.writer->write(sent.back());
        }
        const std::size_t seen = documents.size();
        ASSERT_TRUE(documents.wait_beyond(seen)) << "statistics stopped";
        // The relay counts a document before its callback: these figures are at least that new.
        const ClientStats now = p.writer->stats().client;
        if (now.queue_records > 0) seen_queue = now;
        if (now.broker_rtt_avg_us > 0) seen_rtt = now;
    }
    EXPECT_GT(seen_queue.queue_records, 0u) << "msg_cnt never seen above 0";
    EXPECT_GT(seen_queue.queue_bytes, 0u);
    EXPECT_GE(seen_rtt.broker_rtt_avg_us, 100'000u) << "300 ms of round trip injected";
    EXPECT_GE(seen_rtt.broker_rtt_p99_us, seen_rtt.broker_rtt_avg_us / 2);

    ASSERT_TRUE(p.writer->flush(30s));
    const WriterStats stats = p.writer->stats();
    EXPECT_TRUE(Balanced(stats));
    EXPECT_EQ(stats.submitted, sent.size());
    EXPECT_GE(stats.client.callback_failures, 1u);
    EXPECT_EQ(stats.client.malformed_reports, 0u);

    // The same figures through prometheus_text.
    const auto scrape =
        parse_prometheus(prometheus_text(std::vector<WriterMetrics>{{"it", stats, {}}}));
    EXPECT_EQ(scrape.one("kafka_log_client_statistics_total").value,
              static_cast<double>(stats.client.reports));
    EXPECT_EQ(scrape.one("kafka_log_records_submitted_total").value,
              static_cast<double>(sent.size()));

    cluster.set_broker_rtt(1, 0);
    p.writer->close(10s);
    const WriterStats closed = p.writer->stats();
    EXPECT_TRUE(Balanced(closed));
    expect_accounted(sent, payloads(cluster.read_all(p.topic, 30s)), p.fallback_lines(), closed);
    EXPECT_EQ(closed.delivered, sent.size()) << "with a 10 s timeout, every record is on Kafka";
}

// Counted as the reports come, statistics off: a record librdkafka confirmed by an implicit
// acknowledgement (its request refused with a retriable error, a later one of the partition
// written). The embedded cluster does not check sequence numbers, so the record is not on the
// topic (docs/reliability.md, "What the embedded cluster does not check"); the writer counted it
// delivered, as it would on Kafka, where it would be on the topic.
TEST(StatisticsTest, AConfirmationWithoutAnOffsetIsCountedAndScraped) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1);
    ProducerConfig config = test_config(cluster);
    // One record per request, both requests in flight when the first is answered, however busy
    // the machine: the records wait out the linger together, answers come 300 ms late.
    config.set("linger.ms", "100");
    config.set("batch.num.messages", "1");
    Pipeline p(topic, config);
    p.writer->write("warm-up");  // the producer id and the partition's leader are known after it
    ASSERT_TRUE(p.writer->flush(10s));
    ASSERT_EQ(p.writer->stats().delivered, 1u);

    cluster.set_broker_rtt(1, 300);
    cluster.push_produce_errors(1, 7);  // REQUEST_TIMED_OUT, retriable
    p.writer->write("refused, then implicitly acknowledged");
    p.writer->write("written");
    ASSERT_TRUE(p.writer->flush(10s));
    const WriterStats stats = p.writer->stats();
    EXPECT_TRUE(Balanced(stats));
    EXPECT_EQ(stats.delivered, 3u);
    EXPECT_EQ(stats.client.delivered_without_offset, 1u);
    EXPECT_EQ(payloads(cluster.read_all(topic, 10s)),
              (std::vector<std::string>{"warm-up", "written"}));
    const auto scrape =
        parse_prometheus(prometheus_text(std::vector<WriterMetrics>{{"it", stats, {}}}));
    EXPECT_EQ(scrape.one("kafka_log_producer_delivered_without_offset_total").value, 1.0);
}

}  // namespace
}  // namespace kafka_log::test
