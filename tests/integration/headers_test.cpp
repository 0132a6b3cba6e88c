// SPDX-License-Identifier: Apache-2.0
// Kafka headers end to end on the embedded cluster: KafkaWriter's headers, Boost.Log attributes
// (in code and from a settings file) read back from the topic; and headers that went through the
// spool, back out through the replay.
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/log/attributes/constant.hpp>
#include <boost/log/attributes/scoped_attribute.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/utility/setup/from_stream.hpp>
#include <boost/make_shared.hpp>
#include <nlohmann/json.hpp>

#include "integration_support.hpp"
#include "kafka_log/boost_log/json_formatter.hpp"
#include "kafka_log/boost_log/kafka_sink_backend.hpp"
#include "kafka_log/boost_log/settings_factory.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "kafka_log/spool_reader.hpp"
#include "kafka_log/testing/topic_reader.hpp"

namespace kafka_log::test {
namespace {

namespace logging = boost::log;
namespace attrs = boost::log::attributes;
using Headers = std::vector<std::pair<std::string, std::string>>;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

/// The headers record `i` is written with: none for every third, two for the others.
Headers headers_of(int i) {
    if (i % 3 == 0) return {};
    return {{"TraceID", "trace-" + std::to_string(i)}, {"Service", "billing"}};
}

void write_with_headers(KafkaWriter& writer, const std::string& payload, const Headers& headers) {
    std::vector<RecordHeader> views;
    for (const auto& [name, value] : headers) views.push_back(RecordHeader{name, value});
    writer.write(payload, {}, views);
}

TEST(HeadersIntegrationTest, WriterHeadersReachTheTopicLiveAndThroughTheSpoolsReplay) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    TempDir tmp;
    ClientLog client_log;
    auto producer =
        std::make_shared<RdKafkaProducer>(test_config(cluster, 1500), client_log.options());
    auto spool = std::make_shared<SpoolFallback>(tmp / "spool", SpoolOptions{.replay_rate = 1e5});
    WriterOptions options;
    options.topic = topic;
    KafkaWriter writer(producer, spool, options);

    constexpr int live = 60;
    for (int i = 0; i < live; ++i)
        write_with_headers(writer, "live-" + std::to_string(i), headers_of(i));
    ASSERT_TRUE(writer.flush(30s));
    EXPECT_EQ(writer.stats().delivered, static_cast<std::uint64_t>(live));

    // The cluster down: the records wait in the spool (refused by the breaker, or failed when
    // message.timeout.ms expires), headers and all.
    cluster.set_broker_down(1);
    constexpr int spooled = 30;
    for (int i = 0; i < spooled; ++i)
        write_with_headers(writer, "spooled-" + std::to_string(i), headers_of(i));
    ASSERT_TRUE(wait_until([&] { return writer.stats().in_flight == 0; }, 30s));
    WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_total(), static_cast<std::uint64_t>(spooled));
    std::size_t with_headers = 0;
    {
        SpoolReader reader(tmp / "spool");
        SpoolRecord r;
        while (reader.next(r)) {
            const int i = std::stoi(r.payload.substr(r.payload.find('-') + 1));
            EXPECT_EQ(r.headers, headers_of(i)) << r.payload;
            with_headers += r.headers.empty() ? 0 : 1;
        }
    }
    EXPECT_EQ(with_headers, 20u);

    cluster.set_broker_up(1);
    ASSERT_TRUE(wait_until(
        [&] {
            const WriterStats now = writer.stats();
            return now.spooled == 0 && now.replayed >= static_cast<std::uint64_t>(spooled);
        },
        60s))
        << "replayed " << writer.stats().replayed << ", spooled " << writer.stats().spooled;
    writer.close(5s);
    s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(live + spooled));
    EXPECT_EQ(s.delivered + s.fallback_total(), s.submitted);
    EXPECT_EQ(s.replayed, static_cast<std::uint64_t>(spooled));

    // Read back: a live record has exactly its headers; a replayed one has its headers, then
    // kafka_log.id and kafka_log.replayed.
    std::map<std::string, int> seen;
    for (const TopicRecord& r : read_topic(cluster.bootstrap_servers(), topic, 30s)) {
        ++seen[r.payload];
        const int i = std::stoi(r.payload.substr(r.payload.find('-') + 1));
        Headers want = headers_of(i);
        if (r.payload.starts_with("spooled-")) {
            const std::size_t own = want.size();
            ASSERT_EQ(r.headers.size(), own + 2) << r.payload;
            EXPECT_EQ(r.headers[own].first, "kafka_log.id") << r.payload;
            EXPECT_EQ(r.headers[own].second.size(), 32u) << r.payload;
            EXPECT_EQ(r.headers[own + 1].first, "kafka_log.replayed") << r.payload;
            want.push_back(r.headers[own]);
            want.push_back(r.headers[own + 1]);
        }
        EXPECT_EQ(r.headers, want) << r.payload;
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(live + spooled)) << "every record, read back";
    for (const auto& [payload, copies] : seen)
        EXPECT_LE(copies, 1 + static_cast<int>(s.possibly_persisted)) << payload;
    if (HasFailure()) {
        for (const auto& line : client_log.lines()) std::cerr << "  librdkafka: " << line << "\n";
    }
}

TEST(HeadersIntegrationTest, BoostLogAttributesReachTheTopicAsHeaders) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    Pipeline p(topic, test_config(cluster));
    auto sink = boost::make_shared<logging::sinks::unlocked_sink<KafkaSinkBackend>>(
        boost::make_shared<KafkaSinkBackend>(
            p.writer, SinkOptions{.header_attributes = {"TraceID", "Attempt"}}));
    sink->set_formatter(json_formatter());
    logging::core::get()->add_sink(sink);
    constexpr int records = 40;
    logging::sources::logger logger;
    logger.add_attribute("TraceID", attrs::constant<std::string>("4bf92f35"));
    for (int i = 0; i < records; ++i) {
        BOOST_LOG_SCOPED_LOGGER_ATTR(logger, "Attempt", attrs::constant<int>(i));
        BOOST_LOG(logger) << "record " << i;
    }
    logging::core::get()->remove_sink(sink);
    sink->flush();
    p.writer->close(5s);
    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(records));
    EXPECT_THAT(p.fallback_lines(), IsEmpty());

    const std::vector<TopicRecord> on_topic = read_topic(cluster.bootstrap_servers(), topic, 30s);
    ASSERT_EQ(on_topic.size(), static_cast<std::size_t>(records));
    for (int i = 0; i < records; ++i) {
        const TopicRecord& r = on_topic[static_cast<std::size_t>(i)];
        EXPECT_EQ(nlohmann::json::parse(r.payload)["msg"], "record " + std::to_string(i));
        EXPECT_THAT(r.headers,
                    ElementsAre(Pair("TraceID", "4bf92f35"), Pair("Attempt", std::to_string(i))));
    }
}

TEST(HeadersIntegrationTest, TheSettingsFilesHeadersParameterReachesTheTopic) {
    register_boost_log_factory();
    enable_embedded_brokers();
    TempDir dir;
    const std::string topic = unique_topic();
    std::istringstream settings("[Sinks.Kafka]\nDestination=Kafka\nBrokers=embedded\nTopic=\"" +
                                topic + "\"\nFallback=\"" + (dir / "fallback.log").string() +
                                "\"\nHeaders=\"TraceID,Service\"\n");
    logging::init_from_stream(settings);
    const std::shared_ptr<EmbeddedCluster> cluster = settings_embedded_cluster();
    ASSERT_NE(cluster, nullptr);
    logging::sources::logger logger;
    logger.add_attribute("Service", attrs::constant<std::string>("billing"));
    logger.add_attribute("TraceID", attrs::constant<long long>(1234567890123LL));
    BOOST_LOG(logger) << "from settings";
    logging::core::get()->flush();
    logging::core::get()->remove_all_sinks();

    const std::vector<TopicRecord> on_topic = read_topic(cluster->bootstrap_servers(), topic, 30s);
    ASSERT_EQ(on_topic.size(), 1u);
    EXPECT_THAT(on_topic[0].headers,
                ElementsAre(Pair("TraceID", "1234567890123"), Pair("Service", "billing")));
    EXPECT_THAT(read_lines(dir / "fallback.log"), IsEmpty());
}

}  // namespace
}  // namespace kafka_log::test
