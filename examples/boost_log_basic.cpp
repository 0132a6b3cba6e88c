// SPDX-License-Identifier: Apache-2.0
// boost_log_basic: Boost.Log set up in code — JSON records, a runtime level, a message key —
// shipped to Kafka (an embedded cluster unless --brokers is given), then read back.
//
//   boost_log_basic [--brokers HOST:PORT,...] [--topic NAME]
//
// Exit status 0 when every record that passed the level is on the topic or in the fallback.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <boost/log/attributes/constant.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/setup/common_attributes.hpp>
#include <boost/make_shared.hpp>

#include <kafka_log/boost_log/atomic_level.hpp>
#include <kafka_log/boost_log/clock.hpp>
#include <kafka_log/boost_log/json_formatter.hpp>
#include <kafka_log/boost_log/kafka_sink_backend.hpp>
#include <kafka_log/kafka_writer.hpp>
#include <kafka_log/rdkafka_producer.hpp>
#include <kafka_log/spool_fallback.hpp>
#include <kafka_log/testing/embedded_cluster.hpp>
#include <kafka_log/testing/topic_reader.hpp>

int main(int argc, char** argv) {
    namespace logging = boost::log;
    using level = logging::trivial::severity_level;
    using namespace std::chrono_literals;

    std::string brokers;
    std::string topic = "boost-log-basic";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--brokers")
            brokers = argv[i + 1];
        else if (flag == "--topic")
            topic = argv[i + 1];
        else {
            std::cerr << "usage: boost_log_basic [--brokers HOST:PORT,...] [--topic NAME]\n";
            return 2;
        }
    }

    // 1. A cluster: the embedded one unless told otherwise.
    std::unique_ptr<kafka_log::EmbeddedCluster> cluster;
    if (brokers.empty()) {
        cluster = std::make_unique<kafka_log::EmbeddedCluster>();
        cluster->create_topic(topic, 2, 1);
        brokers = cluster->bootstrap_servers();
    }

    // 2. Producer, fallback, writer, sink: JSON records, keyed by the TraceID attribute.
    auto producer = std::make_shared<kafka_log::RdKafkaProducer>(
        kafka_log::ProducerConfig{{"bootstrap.servers", brokers}, {"linger.ms", "5"}});
    // What Kafka does not take goes to the spool, whole (topic, key, reason), to be replayed.
    const auto spool_dir =
        std::filesystem::temp_directory_path() / ("boost_log_basic-" + std::to_string(::getpid()));
    auto writer = std::make_shared<kafka_log::KafkaWriter>(
        producer, std::make_shared<kafka_log::SpoolFallback>(spool_dir),
        kafka_log::WriterOptions{.topic = topic});
    auto sink = boost::make_shared<logging::sinks::unlocked_sink<kafka_log::KafkaSinkBackend>>(
        boost::make_shared<kafka_log::KafkaSinkBackend>(
            writer, kafka_log::SinkOptions{.key_attribute = "TraceID"}));
    sink->set_formatter(kafka_log::json_formatter(kafka_log::JsonOptions{.record_id_key = "id"}));
    kafka_log::AtomicLevel threshold(level::info);  // change it from any thread, any time
    sink->set_filter(threshold.filter());
    logging::core::get()->add_sink(sink);
    // TimeStamp without glibc's time zone lock per record; add_common_attributes keeps it.
    logging::core::get()->add_global_attribute("TimeStamp", kafka_log::LocalClock());
    logging::add_common_attributes();

    // 3. Log.
    logging::sources::severity_logger<level> logger;
    logger.add_attribute("Service", logging::attributes::constant<std::string>("checkout"));
    logger.add_attribute("TraceID", logging::attributes::constant<std::string>("trace-42"));
    BOOST_LOG_SEV(logger, level::info) << "order placed";
    BOOST_LOG_SEV(logger, level::debug) << "not shipped: below the level";
    threshold.set(level::debug);
    BOOST_LOG_SEV(logger, level::debug) << "shipped: the level was lowered at runtime";
    BOOST_LOG_SEV(logger, level::error) << "payment declined";

    // 4. Shutdown, in this order: remove the sink, flush, close.
    logging::core::get()->remove_sink(sink);
    sink->flush();
    writer->close(5s);

    // 5. Read back.
    const kafka_log::WriterStats s = writer->stats();
    const auto records = kafka_log::read_topic(brokers, topic, 30s);
    std::cout << "topic '" << topic << "' holds " << records.size() << " record(s):\n";
    for (const auto& r : records) std::cout << "  " << r.payload << "\n";
    std::cout << "submitted " << s.submitted << ", delivered " << s.delivered << ", fallback "
              << s.fallback_total() << ", lost " << s.lost << "\n";
    const bool ok = s.balanced() && s.submitted == 3 && s.lost == 0 &&
                    records.size() + s.fallback_total() >= s.submitted;
    std::cout << (ok ? "OK" : "FAILED") << "\n";
    return ok ? 0 : 1;
}
