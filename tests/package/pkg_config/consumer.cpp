// SPDX-License-Identifier: Apache-2.0
// Built with nothing but `pkg-config --cflags --libs kafka_log_testing` against the extracted
// .deb (tests/package/pkg_config.cmake): the version header agrees with the library, and a
// Boost.Log record reaches an embedded cluster and is read back.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include <boost/log/core.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/make_shared.hpp>

#include <kafka_log/boost_log/json_formatter.hpp>
#include <kafka_log/boost_log/kafka_sink_backend.hpp>
#include <kafka_log/kafka_writer.hpp>
#include <kafka_log/rdkafka_producer.hpp>
#include <kafka_log/testing/embedded_cluster.hpp>
#include <kafka_log/testing/topic_reader.hpp>
#include <kafka_log/version.hpp>

static_assert(KAFKA_LOG_VERSION == KAFKA_LOG_VERSION_MAJOR * 10000 + KAFKA_LOG_VERSION_MINOR * 100 +
                                       KAFKA_LOG_VERSION_PATCH);

namespace {
int fail(const std::string& what) {
    std::fprintf(stderr, "pkg_config consumer: %s\n", what.c_str());
    return 1;
}
}  // namespace

int main() {
    if (kafka_log::version() != std::string_view(KAFKA_LOG_VERSION_STRING))
        return fail("header " KAFKA_LOG_VERSION_STRING " but library " +
                    std::string(kafka_log::version()));
    if (kafka_log::version_number() != KAFKA_LOG_VERSION)
        return fail("library version number " + std::to_string(kafka_log::version_number()));

    kafka_log::EmbeddedCluster cluster;
    cluster.create_topic("pkg-config", 1, 1);
    auto writer = std::make_shared<kafka_log::KafkaWriter>(
        std::make_shared<kafka_log::RdKafkaProducer>(
            kafka_log::ProducerConfig{{"bootstrap.servers", cluster.bootstrap_servers()}}),
        std::make_shared<kafka_log::StreamFallback>(std::cerr),
        kafka_log::WriterOptions{.topic = "pkg-config"});
    auto sink = boost::make_shared<boost::log::sinks::unlocked_sink<kafka_log::KafkaSinkBackend>>(
        boost::make_shared<kafka_log::KafkaSinkBackend>(writer));
    sink->set_formatter(kafka_log::json_formatter());
    boost::log::core::get()->add_sink(sink);
    boost::log::sources::logger logger;
    BOOST_LOG(logger) << "built with pkg-config";
    boost::log::core::get()->remove_sink(sink);
    writer->close(std::chrono::seconds(10));

    const kafka_log::WriterStats s = writer->stats();
    if (!s.balanced() || s.delivered != 1) return fail("the record was not delivered");
    const auto records =
        kafka_log::read_topic(cluster.bootstrap_servers(), "pkg-config", std::chrono::seconds(30));
    if (records.size() != 1 ||
        records[0].payload.find("built with pkg-config") == std::string::npos)
        return fail("the record read back is not the one written");
    std::printf("pkg_config consumer: kafka_log %s, 1 record written and read back\n",
                std::string(kafka_log::version()).c_str());
    return 0;
}
