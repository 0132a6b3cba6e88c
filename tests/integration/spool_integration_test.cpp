// SPDX-License-Identifier: Apache-2.0
// A real producer against a cluster that is down for the whole run, with the spool as the
// fallback: every record counted in a fallback bucket is in the spool, whole, with its reason.
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
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
        auto producer = std::make_shared<RdKafkaProducer>(test_config(cluster, 1500), client_log.options());
        auto spool = std::make_shared<SpoolFallback>(dir, SpoolOptions{.segment_bytes = 64 * 1024});
        WriterOptions options;
        options.topic = topic;
        options.breaker_backoff = 200ms;
        options.breaker_max_backoff = 1s;
        KafkaWriter writer(producer, spool, options);
        // One record at a time until the client finds the cluster unreachable, then the rest.
        int i = 0;
        ASSERT_TRUE(wait_until([&] {
            writer.write("record-" + std::to_string(i), "key-" + std::to_string(i));
            ++i;
            return writer.breaker_open() || i == total;
        }, 20s));
        for (; i < total; ++i) writer.write("record-" + std::to_string(i), "key-" + std::to_string(i));
        writer.close(3s);
        s = writer.stats();
        if (HasFailure()) {
            for (const auto& line : client_log.lines()) std::cerr << "  librdkafka: " << line << "\n";
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
        EXPECT_TRUE(reason == FallbackReason::unreachable || reason == FallbackReason::delivery_failed ||
                    reason == FallbackReason::closed)
            << to_string(reason);
    }

    cluster.set_broker_up(1);
    EXPECT_EQ(cluster.message_count(topic), 0u) << "nothing reached the topic";
    EXPECT_TRUE(cluster.read_all(topic, 10s).empty());
}

}  // namespace
}  // namespace kafka_log::test
