// SPDX-License-Identifier: Apache-2.0
// A Boost.Log settings file with Destination=Kafka, end to end on the embedded cluster.
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/log/attributes/constant.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/setup/common_attributes.hpp>
#include <boost/log/utility/setup/from_stream.hpp>
#include <nlohmann/json.hpp>

#include "integration_support.hpp"
#include "kafka_log/boost_log/settings_factory.hpp"

namespace kafka_log::test {
namespace {

namespace logging = boost::log;
using level = logging::trivial::severity_level;
using ::testing::IsEmpty;

class SettingsTest : public ::testing::TestWithParam<bool> {
protected:
    static void SetUpTestSuite() {
        register_boost_log_factory();
        enable_embedded_brokers();  // Brokers=embedded: an EmbeddedCluster of kafka_log::testing
        logging::add_common_attributes();
    }
    void TearDown() override { logging::core::get()->remove_all_sinks(); }
};

TEST_P(SettingsTest, JsonRecordsReachTheTopicFilteredAndNothingIsLostAtShutdown) {
    const bool asynchronous = GetParam();
    TempDir dir;
    std::ofstream(dir / "kafka.properties")
        << "# producer settings\nlinger.ms=50\nreconnect.backoff.max.ms=500\n";
    const std::string topic = unique_topic();
    std::istringstream settings(
        "[Sinks.Kafka]\n"
        "Destination=Kafka\n"
        "Brokers=embedded\n"
        "Topic=\"" +
        topic +
        "\"\n"
        "Fallback=\"" +
        (dir / "fallback.log").string() +
        "\"\n"
        "Format=json\n"
        "Filter=\"%Severity% >= info\"\n"
        "KeyAttribute=TraceID\n"
        "Asynchronous=" +
        (asynchronous ? "true" : "false") +
        "\n"
        "ProducerConfigFile=\"" +
        (dir / "kafka.properties").string() +
        "\"\n"
        "Producer.linger.ms=5\n");
    logging::init_from_stream(settings);
    const std::shared_ptr<EmbeddedCluster> cluster = settings_embedded_cluster();
    ASSERT_NE(cluster, nullptr);

    logging::sources::severity_logger<level> logger;
    logger.add_attribute("TraceID", logging::attributes::constant<std::string>("trace-1"));
    logger.add_attribute("Answer", logging::attributes::constant<int>(42));
    constexpr int records = 2000;
    for (int i = 0; i < records; ++i) {
        BOOST_LOG_SEV(logger, i % 2 == 0 ? level::info : level::debug) << "record " << i;
    }
    // The documented shutdown: flush (waits for Kafka), then remove the sinks.
    logging::core::get()->flush();
    logging::core::get()->remove_all_sinks();

    const auto on_topic = payloads(cluster->read_all(topic, 30s));
    EXPECT_EQ(on_topic.size(), static_cast<std::size_t>(records / 2))
        << "debug records are filtered";
    std::set<std::string> messages;
    for (const auto& line : on_topic) {
        const auto j = nlohmann::json::parse(line);
        EXPECT_EQ(j["level"], "info");
        EXPECT_EQ(j["Answer"], 42);
        EXPECT_EQ(j["TraceID"], "trace-1");
        EXPECT_TRUE(j.contains("logtime"));
        EXPECT_TRUE(j["ThreadID"].is_string());
        messages.insert(j["msg"].get<std::string>());
    }
    for (int i = 0; i < records; i += 2)
        EXPECT_TRUE(messages.count("record " + std::to_string(i))) << i;
    EXPECT_THAT(read_lines(dir / "fallback.log"), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Frontends, SettingsTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Asynchronous" : "Unlocked"; });

TEST(SettingsShutdownTest, RecordsStillQueuedWhenTheSinkIsRemovedGoToTheFallback) {
    register_boost_log_factory();
    enable_embedded_brokers();
    TempDir dir;
    const std::string topic = unique_topic();
    // Kafka answers after 3 s, the sink waits 100 ms: at removal the records are purged into
    // the fallback (possibly persisted), never dropped.
    std::istringstream settings("[Sinks.Kafka]\nDestination=Kafka\nBrokers=embedded\nTopic=\"" +
                                topic + "\"\nFallback=\"" + (dir / "fallback.log").string() +
                                "\"\nFormat=\"%Message%\"\nFlushTimeout=100\nCloseTimeout=100\n");
    logging::init_from_stream(settings);
    const std::shared_ptr<EmbeddedCluster> cluster = settings_embedded_cluster();
    ASSERT_NE(cluster, nullptr);
    cluster->set_broker_rtt(1, 3000);
    logging::sources::severity_logger<level> logger;
    for (int i = 0; i < 100; ++i) BOOST_LOG_SEV(logger, level::info) << "slow " << i;
    logging::core::get()->flush();
    logging::core::get()->remove_all_sinks();
    cluster->set_broker_rtt(1, 0);

    const auto fallback = read_lines(dir / "fallback.log");
    const auto on_topic = payloads(cluster->read_all(topic, 30s));
    std::set<std::string> seen(fallback.begin(), fallback.end());
    seen.insert(on_topic.begin(), on_topic.end());
    for (int i = 0; i < 100; ++i)
        EXPECT_TRUE(seen.count("slow " + std::to_string(i))) << "lost: slow " << i;
    EXPECT_FALSE(fallback.empty());
}

TEST(SettingsShutdownTest, BufferedFallbackReachesItsFileWhenTheSinkIsRemoved) {
    register_boost_log_factory();
    TempDir dir;
    // Nothing listens on port 1: every record waits in the producer until removal purges it
    // into the fallback's buffer, which the writer's close() writes to the file.
    std::istringstream settings(
        "[Sinks.Kafka]\nDestination=Kafka\nBrokers=\"127.0.0.1:1\"\nTopic=t\nFallback=\"" +
        (dir / "buffered.log").string() +
        "\"\nFallbackBufferSize=65536\nFormat=\"%Message%\"\nFlushTimeout=100\nCloseTimeout=100\n");
    logging::init_from_stream(settings);
    logging::sources::severity_logger<level> logger;
    for (int i = 0; i < 100; ++i) BOOST_LOG_SEV(logger, level::info) << "buffered " << i;
    logging::core::get()->remove_all_sinks();

    const auto fallback = read_lines(dir / "buffered.log");
    ASSERT_EQ(fallback.size(), 100u);
    const std::set<std::string> seen(fallback.begin(), fallback.end());
    for (int i = 0; i < 100; ++i)
        EXPECT_TRUE(seen.count("buffered " + std::to_string(i))) << "lost: buffered " << i;
}

}  // namespace
}  // namespace kafka_log::test
