// SPDX-License-Identifier: Apache-2.0
// What a user's own test looks like: Boost.Log -> KafkaSinkBackend -> KafkaWriter on a
// scripted MockAsyncProducer, asserting on the fallback; and a settings file with
// Brokers=embedded on kafka_log::testing's EmbeddedCluster, read back with read_topic. Built
// against an installed kafka_log (find_package) and against its source tree (add_subdirectory).
#include <chrono>
#include <memory>
#include <sstream>
#include <string_view>

#include <gtest/gtest.h>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/utility/setup/from_stream.hpp>
#include <boost/make_shared.hpp>

#include <kafka_log/boost_log/kafka_sink_backend.hpp>
#include <kafka_log/boost_log/settings_factory.hpp>
#include <kafka_log/glog/glog_kafka_sink.hpp>
#include <kafka_log/kafka_writer.hpp>
#include <kafka_log/mocks/gmock_async_producer.hpp>
#include <kafka_log/mocks/mock_async_producer.hpp>
#include <kafka_log/testing/embedded_cluster.hpp>
#include <kafka_log/testing/topic_reader.hpp>
#include <kafka_log/version.hpp>

TEST(ConsumerTest, VersionHeaderMatchesLibrary) {
    EXPECT_EQ(kafka_log::version(), std::string_view(KAFKA_LOG_VERSION_STRING));
    EXPECT_EQ(kafka_log::version_number(), KAFKA_LOG_VERSION);
    EXPECT_EQ(KAFKA_LOG_VERSION, KAFKA_LOG_VERSION_MAJOR * 10000 + KAFKA_LOG_VERSION_MINOR * 100 +
                                     KAFKA_LOG_VERSION_PATCH);
}

TEST(ConsumerTest, FailedRecordLandsInFallback) {
    auto producer = std::make_shared<kafka_log::mocks::MockAsyncProducer>();
    producer->expect_input_and_succeed().expect_input_and_fail({-192, "timed out", false});
    std::ostringstream fallback_text;
    auto writer = std::make_shared<kafka_log::KafkaWriter>(
        producer, std::make_shared<kafka_log::StreamFallback>(fallback_text),
        kafka_log::WriterOptions{.topic = "consumer"});
    auto sink = boost::make_shared<boost::log::sinks::unlocked_sink<kafka_log::KafkaSinkBackend>>(
        boost::make_shared<kafka_log::KafkaSinkBackend>(writer));
    sink->set_formatter(boost::log::expressions::stream << boost::log::expressions::smessage);
    boost::log::core::get()->add_sink(sink);

    boost::log::sources::logger logger;
    BOOST_LOG(logger) << "reaches kafka";
    BOOST_LOG(logger) << "reaches the fallback";

    boost::log::core::get()->remove_sink(sink);
    writer->close(std::chrono::seconds(1));
    const kafka_log::WriterStats s = writer->stats();
    EXPECT_EQ(s.submitted, s.delivered + s.fallback_total() + s.lost + s.in_flight);
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.fallback_delivery_failed, 1u);
    EXPECT_EQ(fallback_text.str(), "reaches the fallback\n");
}

TEST(ConsumerTest, GMockProducerIsUsable) {
    testing::NiceMock<kafka_log::mocks::GMockAsyncProducer> producer;
    EXPECT_CALL(producer, produce).WillOnce(testing::Return(kafka_log::ProduceStatus::too_large));
    EXPECT_EQ(producer.produce({"t", "", "x"}), kafka_log::ProduceStatus::too_large);
}

TEST(ConsumerTest, GlogSinkFeedsTheWriter) {
    auto producer = std::make_shared<kafka_log::mocks::MockAsyncProducer>();
    producer->expect_input_and_succeed();
    std::ostringstream fallback_text;
    auto writer = std::make_shared<kafka_log::KafkaWriter>(
        producer, std::make_shared<kafka_log::StreamFallback>(fallback_text),
        kafka_log::WriterOptions{.topic = "consumer"});
    kafka_log::GlogKafkaSink sink(writer);
    {
        kafka_log::ScopedGlogSink scoped(sink);
        LOG(INFO) << "from glog";
    }
    writer->close(std::chrono::seconds(1));
    EXPECT_EQ(writer->stats().delivered, 1u);
    EXPECT_NE(producer->produced().at(0).payload.find("\"msg\":\"from glog\""), std::string::npos);
}

TEST(ConsumerTest, SettingsWithEmbeddedBrokersReachTheTestingCluster) {
    kafka_log::register_boost_log_factory();
    kafka_log::enable_embedded_brokers();
    std::istringstream settings(
        "[Sinks.Kafka]\nDestination=Kafka\nBrokers=embedded\nTopic=consumer-embedded\n");
    boost::log::init_from_stream(settings);
    const std::shared_ptr<kafka_log::EmbeddedCluster> cluster =
        kafka_log::settings_embedded_cluster();
    ASSERT_NE(cluster, nullptr);

    boost::log::sources::logger logger;
    BOOST_LOG(logger) << "to the embedded cluster";
    boost::log::core::get()->flush();
    boost::log::core::get()->remove_all_sinks();

    const auto records = kafka_log::read_topic(cluster->bootstrap_servers(), "consumer-embedded",
                                               std::chrono::seconds(30));
    ASSERT_EQ(records.size(), 1u);
    EXPECT_NE(records[0].payload.find("to the embedded cluster"), std::string::npos);
}
