// SPDX-License-Identifier: Apache-2.0
// Bad settings files: every mistake is a Boost.Log exception naming the parameter.
#include "kafka_log/boost_log/settings_factory.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/log/core.hpp>
#include <boost/log/exceptions.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/utility/setup/from_settings.hpp>
#include <boost/log/utility/setup/from_stream.hpp>
#include <boost/log/utility/setup/settings.hpp>

#include "kafka_log/spool_fallback.hpp"
#include "kafka_log/spool_reader.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class SettingsFactoryTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { register_boost_log_factory(); }
    void TearDown() override { boost::log::core::get()->remove_all_sinks(); }

    template <typename Exception>
    std::string error_of(const std::string& section_body) {
        std::istringstream in("[Sinks.Kafka]\nDestination=Kafka\n" + section_body);
        try {
            boost::log::init_from_stream(in);
        } catch (const Exception& e) {
            return e.what();
        }
        ADD_FAILURE() << "no exception of the expected type for:\n" << section_body;
        return {};
    }
};

TEST_F(SettingsFactoryTest, UnknownParameterIsNamedWithItsSection) {
    EXPECT_THAT(
        error_of<boost::log::invalid_value>("Brokerz=\"127.0.0.1:1\"\nTopic=t\n"),
        AllOf(HasSubstr("unknown parameter 'Brokerz'"), HasSubstr("Destination=Kafka, Topic=t")));
}

TEST_F(SettingsFactoryTest, MissingTopicOrBrokersIsAMissingValue) {
    EXPECT_THAT(error_of<boost::log::missing_value>("Brokers=\"127.0.0.1:1\"\n"),
                HasSubstr("'Topic' is required"));
    EXPECT_THAT(error_of<boost::log::missing_value>("Topic=t\n"),
                HasSubstr("'Brokers' is required"));
}

TEST_F(SettingsFactoryTest, EmbeddedBrokersWithoutTheTestingLibraryAreRefusedWithTheWayOut) {
    // This binary does not link kafka_log::testing: nothing resolves Brokers=embedded.
    EXPECT_THAT(
        error_of<boost::log::invalid_value>("Brokers=embedded\nTopic=t\n"),
        AllOf(HasSubstr("parameter 'Brokers'"), HasSubstr("Destination=Kafka, Topic=t"),
              HasSubstr("kafka_log::testing"), HasSubstr("kafka_log::enable_embedded_brokers()")));
}

TEST_F(SettingsFactoryTest, EmbeddedBrokersComeFromTheInstalledResolver) {
    int calls = 0;
    auto alive = std::make_shared<int>(7);
    set_embedded_brokers_resolver([&calls, alive] {
        ++calls;
        return EmbeddedBrokers{"127.0.0.1:1", alive};
    });
    std::istringstream in(
        "[Sinks.Kafka]\nDestination=Kafka\nBrokers=embedded\nTopic=t\n"
        "CloseTimeout=0\n");
    boost::log::init_from_stream(in);
    set_embedded_brokers_resolver({});
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(alive.use_count(), 2) << "the test's and the sink's";
    boost::log::core::get()->remove_all_sinks();
    EXPECT_EQ(alive.use_count(), 1) << "released with the sink's writer";
}

TEST_F(SettingsFactoryTest, BadValuesAreNamed) {
    EXPECT_THAT(error_of<boost::log::invalid_value>(
                    "Brokers=\"127.0.0.1:1\"\nTopic=t\nAsynchronous=maybe\n"),
                HasSubstr("'Asynchronous' must be true or false, got 'maybe'"));
    EXPECT_THAT(error_of<boost::log::invalid_value>(
                    "Brokers=\"127.0.0.1:1\"\nTopic=t\nFallbackRotationSize=big\n"),
                HasSubstr("'FallbackRotationSize' must be a non-negative integer"));
    EXPECT_THAT(error_of<boost::log::invalid_value>(
                    "Brokers=\"127.0.0.1:1\"\nTopic=t\nFallbackBufferSize=lots\n"),
                HasSubstr("'FallbackBufferSize' must be a non-negative integer"));
    EXPECT_THAT(
        error_of<boost::log::invalid_value>("Brokers=\"127.0.0.1:1\"\nTopic=t\nFlushTimeout=-5\n"),
        HasSubstr("'FlushTimeout'"));
}

TEST_F(SettingsFactoryTest, ProducerPropertyRejectedByLibrdkafkaIsNamed) {
    EXPECT_THAT(
        error_of<boost::log::invalid_value>(
            "Brokers=\"127.0.0.1:1\"\nTopic=t\nProducer.linger.mss=5\n"),
        AllOf(HasSubstr("Producer.linger.mss"), HasSubstr("No such configuration property")));
}

TEST_F(SettingsFactoryTest, SecretInARejectedProducerPropertyIsNotPrinted) {
    EXPECT_THAT(
        error_of<boost::log::invalid_value>(
            "Brokers=\"127.0.0.1:1\"\nTopic=t\nProducer.ssl.key.password.typo=\"hunter2\"\n"),
        AllOf(HasSubstr("Producer.ssl.key.password.typo"), ::testing::Not(HasSubstr("hunter2"))));
}

TEST_F(SettingsFactoryTest, UnreadableProducerConfigFileAndFallbackAreNamed) {
    test::TempDir dir;
    EXPECT_THAT(error_of<boost::log::invalid_value>(
                    "Brokers=\"127.0.0.1:1\"\nTopic=t\nProducerConfigFile=\"" +
                    (dir / "missing.properties").string() + "\"\n"),
                AllOf(HasSubstr("ProducerConfigFile"), HasSubstr("missing.properties")));
    std::ofstream(dir / "bad.properties") << "linger.ms=5\nnot a property\n";
    EXPECT_THAT(error_of<boost::log::invalid_value>(
                    "Brokers=\"127.0.0.1:1\"\nTopic=t\nProducerConfigFile=\"" +
                    (dir / "bad.properties").string() + "\"\n"),
                AllOf(HasSubstr("bad.properties:2"), ::testing::Not(HasSubstr("not a property"))));
    EXPECT_THAT(
        error_of<boost::log::invalid_value>("Brokers=\"127.0.0.1:1\"\nTopic=t\nFallback=\"" +
                                            (dir / "no-such-dir" / "f.log").string() + "\"\n"),
        AllOf(HasSubstr("Fallback"), HasSubstr("no-such-dir")));
}

// --- secrets: a value of a key not on ProducerConfig's allow-list is never in what() --------

constexpr const char* jaas_config =
    "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" "
    "password=\"S3CRET\";";

TEST_F(SettingsFactoryTest, MisspeltSecretProducerPropertyIsNamedWithoutItsValue) {
    const std::string what = error_of<boost::log::invalid_value>(
        "Brokers=\"127.0.0.1:1\"\nTopic=t\nProducer.sasl.pasword=S3CRET\n");
    EXPECT_THAT(what, AllOf(HasSubstr("Producer.sasl.pasword"),
                            HasSubstr("No such configuration property")));
    EXPECT_THAT(what, Not(HasSubstr("S3CRET")));
}

TEST_F(SettingsFactoryTest, JaasConfigProducerPropertyIsNamedWithoutItsValue) {
    // Built in code: Boost's settings syntax has no simple way to write the value's quotes.
    boost::log::settings settings;
    settings["Sinks.Kafka.Destination"] = "Kafka";
    settings["Sinks.Kafka.Brokers"] = "127.0.0.1:1";
    settings["Sinks.Kafka.Topic"] = "t";
    settings["Sinks.Kafka.Producer.sasl.jaas.config"] = jaas_config;
    try {
        boost::log::init_from_settings(settings);
        FAIL() << "no exception";
    } catch (const boost::log::invalid_value& e) {
        EXPECT_THAT(e.what(), HasSubstr("Producer.sasl.jaas.config"));
        EXPECT_THAT(e.what(), Not(HasSubstr("S3CRET")));
    }
}

TEST_F(SettingsFactoryTest, ProducerConfigFileWithSecretsIsNamedWithoutTheirValues) {
    test::TempDir dir;
    const auto file = [&](const std::string& name, const std::string& text) {
        std::ofstream(dir / name) << text;
        return "Brokers=\"127.0.0.1:1\"\nTopic=t\nProducerConfigFile=\"" + (dir / name).string() +
               "\"\n";
    };
    // A line with an empty key: the file's own error, naming the file and the line.
    std::string what =
        error_of<boost::log::invalid_value>(file("empty.properties", "linger.ms=5\n=S3CRET\n"));
    EXPECT_THAT(what, AllOf(HasSubstr("ProducerConfigFile"), HasSubstr("empty.properties:2"),
                            HasSubstr("empty key")));
    EXPECT_THAT(what, Not(HasSubstr("S3CRET")));
    // Keys librdkafka rejects: named, as Producer.<key>.
    what = error_of<boost::log::invalid_value>(file("typo.properties", "sasl.pasword=S3CRET\n"));
    EXPECT_THAT(what, HasSubstr("Producer.sasl.pasword"));
    EXPECT_THAT(what, Not(HasSubstr("S3CRET")));
    what = error_of<boost::log::invalid_value>(
        file("jaas.properties", std::string("sasl.jaas.config=") + jaas_config + "\n"));
    EXPECT_THAT(what, HasSubstr("Producer.sasl.jaas.config"));
    EXPECT_THAT(what, Not(HasSubstr("S3CRET")));
}

TEST_F(SettingsFactoryTest, SpoolAndFallbackTogetherAreRefused) {
    test::TempDir dir;
    EXPECT_THAT(error_of<boost::log::invalid_value>("Brokers=\"127.0.0.1:1\"\nTopic=t\nSpool=\"" +
                                                    (dir / "spool").string() + "\"\nFallback=\"" +
                                                    (dir / "f.log").string() + "\"\n"),
                HasSubstr("Spool and Fallback are both set"));
    EXPECT_THAT(
        error_of<boost::log::invalid_value>("Brokers=\"127.0.0.1:1\"\nTopic=t\nSpool=\"" +
                                            (dir / "spool").string() + "\"\nSpoolMaxBytes=many\n"),
        HasSubstr("'SpoolMaxBytes' must be a non-negative integer"));
}

TEST_F(SettingsFactoryTest, SpoolParametersWithoutASpoolAreRefusedAndSpoolJournalMustBeABoolean) {
    test::TempDir dir;
    for (const char* line : {"SpoolJournal=true", "SpoolReplayRate=5", "SpoolMaxBytes=1000"}) {
        const std::string key = std::string(line).substr(0, std::string(line).find('='));
        EXPECT_THAT(error_of<boost::log::invalid_value>("Brokers=\"127.0.0.1:1\"\nTopic=t\n" +
                                                        std::string(line) + "\n"),
                    HasSubstr("parameter '" + key + "' needs Spool"));
    }
    EXPECT_THAT(error_of<boost::log::invalid_value>("Brokers=\"127.0.0.1:1\"\nTopic=t\nSpool=\"" +
                                                    (dir / "spool").string() +
                                                    "\"\nSpoolJournal=sometimes\n"),
                HasSubstr("'SpoolJournal' must be true or false, got 'sometimes'"));
}

TEST_F(SettingsFactoryTest, SpoolJournalPutsEveryRecordInTheSpoolBeforeKafkaHasIt) {
    test::TempDir dir;
    // A loopback port that takes connections and never answers: the record handed to the
    // producer stays in flight (and the breaker closed) while the spool is read.
    const int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(silent, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(silent, 16), 0);
    ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length), 0);
    const std::string brokers = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
    for (const bool journal : {false, true}) {
        const auto spool = dir / (journal ? "with" : "without");
        std::istringstream in(
            "[Sinks.Kafka]\nDestination=Kafka\nBrokers=\"" + brokers + "\"\nTopic=t\nSpool=\"" +
            spool.string() + "\"\nSpoolReplayRate=0\nSpoolJournal=" + (journal ? "true" : "false") +
            "\nCloseTimeout=0\n");
        boost::log::init_from_stream(in);
        boost::log::sources::logger lg;
        BOOST_LOG(lg) << "one record";
        SpoolReader reader(spool);
        SpoolRecord r;
        std::size_t in_flight = 0;
        while (reader.next(r)) in_flight += r.reason == FallbackReason::in_flight ? 1 : 0;
        EXPECT_EQ(in_flight, journal ? 1u : 0u) << "SpoolJournal=" << journal;
        boost::log::core::get()->remove_all_sinks();
    }
    ::close(silent);
}

TEST_F(SettingsFactoryTest, SpoolHeldByAnotherWriterIsNamedWithItsPid) {
    test::TempDir dir;
    SpoolFallback holder(dir / "spool");
    EXPECT_THAT(error_of<boost::log::invalid_value>("Brokers=\"127.0.0.1:1\"\nTopic=t\nSpool=\"" +
                                                    (dir / "spool").string() + "\"\n"),
                AllOf(HasSubstr("Spool: "), HasSubstr((dir / "spool").string()),
                      HasSubstr("in use by pid " + std::to_string(::getpid()))));
}

}  // namespace
}  // namespace kafka_log
