// SPDX-License-Identifier: Apache-2.0
// A settings-file sink with Name= and Level=: its writer is found by name (stats, the
// /metrics list), its level is changed at run time, and records below it never reach the
// topic. Duplicate names and bad levels are refused, naming the parameter.

#include <set>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/log/core.hpp>
#include <boost/log/exceptions.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/setup/from_stream.hpp>

#include "integration_support.hpp"
#include "kafka_log/boost_log/level_registry.hpp"
#include "kafka_log/boost_log/settings_factory.hpp"
#include "kafka_log/testing/topic_reader.hpp"
#include "kafka_log/writer_registry.hpp"

namespace kafka_log::test {
namespace {

namespace logging = boost::log;
using level = logging::trivial::severity_level;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class NamedSinkTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        register_boost_log_factory();
        enable_embedded_brokers();
    }
    void TearDown() override { logging::core::get()->remove_all_sinks(); }

    static std::string section(const std::string& name, const std::string& topic,
                               const std::string& extra = "") {
        return "[Sinks." + name + "]\nDestination=Kafka\nBrokers=embedded\nTopic=\"" + topic +
               "\"\nFormat=\"%Message%\"\nName=\"" + name + "\"\n" + extra;
    }
    static std::string init_error(const std::string& text) {
        std::istringstream settings(text);
        try {
            logging::init_from_stream(settings);
        } catch (const std::exception& e) {
            return e.what();
        }
        return "no error";
    }
};

TEST_F(NamedSinkTest, FoundByNameAndItsLevelChangesAtRunTime) {
    TempDir dir;
    const std::string topic = unique_topic();
    std::istringstream settings(section(
        "audit", topic, "Level=warning\nFallback=\"" + (dir / "fallback.log").string() + "\"\n"));
    logging::init_from_stream(settings);
    const std::shared_ptr<KafkaWriter> writer = find_writer("audit");
    ASSERT_NE(writer, nullptr);
    EXPECT_EQ(writer->topic(), topic);
    std::optional<AtomicLevel> audit_level = find_level("audit");
    ASSERT_TRUE(audit_level);
    EXPECT_EQ(audit_level->get(), level::warning);

    logging::sources::severity_logger<level> logger;
    BOOST_LOG_SEV(logger, level::info) << "below warning";
    BOOST_LOG_SEV(logger, level::warning) << "at warning";
    audit_level->set(level::info);  // from any thread, at once
    BOOST_LOG_SEV(logger, level::debug) << "below info";
    BOOST_LOG_SEV(logger, level::info) << "at info";
    find_level("audit")->set(level::error);  // the same threshold, found again
    BOOST_LOG_SEV(logger, level::warning) << "below error";

    logging::core::get()->flush();
    const WriterStats stats = writer->stats();
    EXPECT_EQ(stats.submitted, 2u) << "records below the level never reach the writer";
    EXPECT_EQ(stats.delivered, 2u);
    EXPECT_TRUE(Balanced(stats));
    bool listed = false;
    for (const WriterMetrics& m : registered_writer_metrics()) {
        if (m.name != "audit") continue;
        listed = true;
        EXPECT_EQ(m.stats.submitted, 2u);
    }
    EXPECT_TRUE(listed) << "registered_writer_metrics lists the sink";

    const std::shared_ptr<EmbeddedCluster> cluster = settings_embedded_cluster();
    ASSERT_NE(cluster, nullptr);
    EXPECT_THAT(payloads(cluster->read_all(topic, 30s)),
                UnorderedElementsAre("at warning", "at info"));
    EXPECT_TRUE(read_lines(dir / "fallback.log").empty());

    // Removing the sink closes the writer; the registry kept no reference to it.
    const std::weak_ptr<KafkaWriter> weak = writer;
    audit_level.reset();
    logging::core::get()->remove_all_sinks();
    EXPECT_FALSE(weak.expired()) << "still held here";
    EXPECT_TRUE(writer->stats().balanced());
}

TEST_F(NamedSinkTest, TheNameIsFreeOnceTheSinkIsRemoved) {
    const std::string topic = unique_topic();
    {
        std::istringstream settings(section("reused", topic));
        logging::init_from_stream(settings);
    }
    ASSERT_NE(find_writer("reused"), nullptr);
    ASSERT_TRUE(find_level("reused"));
    EXPECT_EQ(find_level("reused")->get(), level::trace) << "Name= alone: everything passes";
    logging::core::get()->remove_all_sinks();
    EXPECT_EQ(find_writer("reused"), nullptr);
    EXPECT_FALSE(find_level("reused"));
    std::istringstream again(section("reused", topic));
    logging::init_from_stream(again);
    EXPECT_NE(find_writer("reused"), nullptr);
}

TEST_F(NamedSinkTest, DuplicateNamesAndBadLevelsAreRefusedNamingTheParameter) {
    const std::string topic = unique_topic();
    std::string error =
        init_error(section("twice", topic) + "\n[Sinks.Other]\n" +
                   "Destination=Kafka\nBrokers=embedded\nTopic=\"" + topic + "\"\nName=twice\n");
    EXPECT_THAT(error, HasSubstr("parameter 'Name': a sink named 'twice' already exists"));
    EXPECT_EQ(find_writer("twice"), nullptr) << "nothing of the failed settings stays";

    error = init_error(section("leveled", topic, "Level=verbose\n"));
    EXPECT_THAT(error, HasSubstr("parameter 'Level' must be one of trace, debug, info, warning, "
                                 "error, fatal; got 'verbose'"));
    error = init_error("[Sinks.Empty]\nDestination=Kafka\nBrokers=embedded\nTopic=t\nName=\"\"\n");
    EXPECT_THAT(error, HasSubstr("parameter 'Name' is empty"));

    // Level= without Name=: a plain filter, nothing registered.
    std::istringstream unnamed("[Sinks.Plain]\nDestination=Kafka\nBrokers=embedded\nTopic=\"" +
                               topic + "\"\nLevel=ERROR\nFilter=\"%Severity% >= info\"\n");
    logging::init_from_stream(unnamed);
    EXPECT_EQ(find_writer("Plain"), nullptr);
}

}  // namespace
}  // namespace kafka_log::test
