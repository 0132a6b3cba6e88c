// SPDX-License-Identifier: Apache-2.0
// boost_log_from_settings: the Kafka sink declared in a Boost.Log settings file.
//
//   boost_log_from_settings [SETTINGS.ini]      (default: kafka_log.ini beside the program's
//   sources)
//
// With Brokers=embedded the records are read back from the in-process cluster and checked.

#include <chrono>
#include <iostream>
#include <string>

#include <boost/log/attributes/constant.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/setup/common_attributes.hpp>

#include <kafka_log/boost_log/settings_factory.hpp>
#include <kafka_log/boost_log/settings_file.hpp>
#include <kafka_log/spool_reader.hpp>
#include <kafka_log/testing/embedded_cluster.hpp>

#ifndef KAFKA_LOG_EXAMPLE_INI
#define KAFKA_LOG_EXAMPLE_INI "kafka_log.ini"
#endif

int main(int argc, char** argv) {
    namespace logging = boost::log;
    using level = logging::trivial::severity_level;
    using namespace std::chrono_literals;

    const std::string path = argc > 1 ? argv[1] : KAFKA_LOG_EXAMPLE_INI;
    kafka_log::register_boost_log_factory();  // before the settings are parsed
    kafka_log::enable_embedded_brokers();     // Brokers=embedded (kafka_log::testing)
    try {
        // Checks the text first: a mistake is named by file, line and parameter.
        kafka_log::init_from_settings_file(path);
    } catch (const std::exception& e) {
        std::cerr << "boost_log_from_settings: " << e.what() << "\n";
        return 2;
    }
    logging::add_common_attributes();
    const auto cluster = kafka_log::settings_embedded_cluster();  // null unless Brokers=embedded

    logging::sources::severity_logger<level> logger;
    logger.add_attribute("TraceID", logging::attributes::constant<std::string>("trace-7"));
    constexpr int records = 100;
    for (int i = 0; i < records; ++i) BOOST_LOG_SEV(logger, level::info) << "from settings " << i;
    BOOST_LOG_SEV(logger, level::debug) << "filtered out by Filter=\"%Severity% >= info\"";

    // Shutdown: flush waits for Kafka; removing the sinks closes their writers.
    logging::core::get()->flush();
    logging::core::get()->remove_all_sinks();

    if (!cluster) {
        std::cout << "logged " << records << " records\n";
        return 0;
    }
    const auto on_topic = cluster->read_all("app-logs", 30s);
    std::cout << "read back " << on_topic.size() << " record(s) from 'app-logs'; first:\n  "
              << (on_topic.empty() ? std::string("(none)") : on_topic.front().payload) << "\n";
    std::size_t in_fallback = 0;  // the spool the settings name (Spool="kafka_log-spool")
    kafka_log::SpoolReader spool("kafka_log-spool");
    for (kafka_log::SpoolRecord r; spool.next(r);) ++in_fallback;
    const bool ok = on_topic.size() + in_fallback >= static_cast<std::size_t>(records);
    std::cout << (ok ? "OK" : "FAILED") << ": " << on_topic.size() << " on the topic, "
              << in_fallback << " in the spool\n";
    return ok ? 0 : 1;
}
