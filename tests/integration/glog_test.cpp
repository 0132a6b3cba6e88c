// SPDX-License-Identifier: Apache-2.0
// glog through GlogKafkaSink and RdKafkaProducer, on the embedded cluster.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "glog_support.hpp"
#include "integration_support.hpp"
#include "kafka_log/glog/glog_kafka_sink.hpp"

namespace kafka_log::test {
namespace {

TEST(GlogIntegrationTest, TenThreadsTenThousandLinesEachReadBack) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 16, 1);  // the mock keeps ~5 MiB per partition (embedded_cluster.hpp)
    Pipeline p(topic, test_config(cluster, 30000));
    GlogKafkaSink sink(p.writer);
    {
        ScopedGlogSink scoped(sink);
        std::vector<std::thread> workers;
        for (int t = 0; t < 10; ++t) {
            workers.emplace_back([t] {
                for (int i = 0; i < 10000; ++i) LOG(INFO) << "glog " << t << "-" << i;
            });
        }
        for (auto& w : workers) w.join();
    }
    ASSERT_TRUE(p.writer->flush(60s));
    p.writer->close(5s);

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, 100000u);
    EXPECT_EQ(s.delivered, 100000u);
    EXPECT_TRUE(p.fallback_lines().empty());
    EXPECT_EQ(cluster.message_count(topic), 100000u);
    const auto on_topic = cluster.read_all(topic, 60s);
    ASSERT_EQ(on_topic.size(), 100000u);
    std::map<std::string, int> messages;
    for (const auto& line : on_topic) ++messages[nlohmann::json::parse(line)["msg"].get<std::string>()];
    ASSERT_EQ(messages.size(), 100000u) << "every line exactly once";
    EXPECT_EQ(messages.count("glog 9-9999"), 1u);
}

// A user who routes librdkafka's own log lines into glog: no recursion, no deadlock; those
// lines go to the fallback (fallback_reentrant) and the application's lines to Kafka.
TEST(GlogIntegrationTest, LibrdkafkaLogRoutedIntoGlogNeitherRecursesNorDeadlocks) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    std::atomic<int> routed{0};
    RdKafkaOptions options;
    options.log_callback = [&](int, std::string_view facility, std::string_view line) {
        ++routed;
        LOG(INFO) << "librdkafka " << facility << ": " << line;
    };
    ProducerConfig config = test_config(cluster);
    config.set("debug", "msg,broker");
    auto producer = std::make_shared<RdKafkaProducer>(config, options);
    TempDir dir;
    auto writer = std::make_shared<KafkaWriter>(producer, std::make_shared<FileFallback>(dir / "fallback.log"),
                                                WriterOptions{.topic = topic});
    GlogKafkaSink sink(writer);
    {
        ScopedGlogSink scoped(sink);
        std::vector<std::thread> workers;
        for (int t = 0; t < 4; ++t) {
            workers.emplace_back([t] {
                for (int i = 0; i < 500; ++i) LOG(INFO) << "app " << t << "-" << i;
            });
        }
        for (auto& w : workers) w.join();
        ASSERT_TRUE(writer->flush(20s));
    }
    writer->close(5s);

    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_GT(routed.load(), 0);
    EXPECT_GT(s.fallback_reentrant, 0u);
    EXPECT_EQ(s.delivered, 2000u);
    EXPECT_EQ(s.lost + s.in_flight, 0u);
    const auto on_topic = cluster.read_all(topic, 30s);
    EXPECT_EQ(on_topic.size(), 2000u);
    for (const auto& line : read_lines(dir / "fallback.log")) {
        EXPECT_EQ(nlohmann::json::parse(line)["msg"].get<std::string>().rfind("librdkafka ", 0), 0u) << line;
    }
}

}  // namespace
}  // namespace kafka_log::test
