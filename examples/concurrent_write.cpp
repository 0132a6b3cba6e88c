// SPDX-License-Identifier: Apache-2.0
// concurrent_write: N threads log M records each through Boost.Log into Kafka, then the topic
// is read back and every record is accounted for. By default the cluster is an embedded one
// (librdkafka's mock cluster on 127.0.0.1); --brokers points it at a real cluster.
//
// Exit status: 0 when the no-loss identity holds and every record is on the topic or in the
// fallback; 1 when not; 2 for a bad command line or configuration.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/make_shared.hpp>

#include <kafka_log/boost_log/kafka_sink_backend.hpp>
#include <kafka_log/embedded_cluster.hpp>
#include <kafka_log/errors.hpp>
#include <kafka_log/spool_fallback.hpp>
#include <kafka_log/spool_reader.hpp>
#include <kafka_log/kafka_writer.hpp>
#include <kafka_log/rdkafka_producer.hpp>
#include <kafka_log/topic_reader.hpp>

namespace {

struct Options {
    std::string brokers;  // empty: embedded cluster
    std::string topic = "concurrent-write";
    int threads = 10;
    int records = 10000;  // per thread
    std::filesystem::path spool;
    std::filesystem::path producer_config;
};

constexpr const char* usage =
    "usage: concurrent_write [options]\n"
    "  --brokers HOST:PORT,...   a real Kafka cluster (default: an embedded cluster on 127.0.0.1)\n"
    "  --topic NAME              topic to write to (default: concurrent-write)\n"
    "  --threads N               logging threads (default: 10)\n"
    "  --records N               records per thread (default: 10000)\n"
    "  --spool DIR               spool directory (default: a new directory under the temp directory)\n"
    "  --producer-config FILE    librdkafka properties file (key=value lines)\n"
    "  --help                    this text\n";

int parse_count(const std::string& flag, const std::string& value) {
    try {
        std::size_t used = 0;
        const int n = std::stoi(value, &used);
        if (used == value.size() && n > 0) return n;
    } catch (...) {
    }
    throw std::invalid_argument(flag + " needs a positive integer, got '" + value + "'");
}

std::optional<Options> parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::cout << usage;
            return std::nullopt;
        }
        if (i + 1 >= argc) throw std::invalid_argument("unknown option or missing value: '" + flag + "'");
        const std::string value = argv[++i];
        if (flag == "--brokers") o.brokers = value;
        else if (flag == "--topic") o.topic = value;
        else if (flag == "--threads") o.threads = parse_count(flag, value);
        else if (flag == "--records") o.records = parse_count(flag, value);
        else if (flag == "--spool") o.spool = value;
        else if (flag == "--producer-config") o.producer_config = value;
        else throw std::invalid_argument("unknown option '" + flag + "'");
    }
    if (o.topic.empty()) throw std::invalid_argument("--topic must not be empty");
    return o;
}

std::string run_id() {
    std::random_device rd;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
    return buf;
}

int run(const Options& o) {
    namespace logging = boost::log;
    using namespace std::chrono_literals;

    std::unique_ptr<kafka_log::EmbeddedCluster> cluster;
    std::string brokers = o.brokers;
    if (brokers.empty()) {
        cluster = std::make_unique<kafka_log::EmbeddedCluster>(3);
        // 12 partitions: the embedded cluster keeps about 5 MiB per partition.
        cluster->create_topic(o.topic, 12, 3);
        brokers = cluster->bootstrap_servers();
    }
    kafka_log::ProducerConfig config;
    if (!o.producer_config.empty()) config = kafka_log::ProducerConfig::from_file(o.producer_config);
    config.set("bootstrap.servers", brokers);

    const std::filesystem::path spool_dir =
        !o.spool.empty() ? o.spool
                         : std::filesystem::temp_directory_path() /
                               ("kafka_log-concurrent_write-" + std::to_string(::getpid()) + ".spool");
    auto producer = std::make_shared<kafka_log::RdKafkaProducer>(config);
    auto fallback = std::make_shared<kafka_log::SpoolFallback>(spool_dir);
    auto writer = std::make_shared<kafka_log::KafkaWriter>(producer, fallback,
                                                           kafka_log::WriterOptions{.topic = o.topic});
    auto sink = boost::make_shared<logging::sinks::unlocked_sink<kafka_log::KafkaSinkBackend>>(
        boost::make_shared<kafka_log::KafkaSinkBackend>(writer));
    sink->set_formatter(logging::expressions::stream << logging::expressions::smessage);
    logging::core::get()->add_sink(sink);

    std::cout << "kafka_log concurrent_write: " << o.threads << " threads x " << o.records << " records -> topic '"
              << o.topic << "' on " << (cluster ? "an embedded cluster at " : "") << brokers << "\n";
    const std::string id = run_id();
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < o.threads; ++t) {
        workers.emplace_back([&, t] {
            logging::sources::logger logger;
            for (int i = 0; i < o.records; ++i) {
                BOOST_LOG(logger) << "{\"run\":\"" << id << "\",\"thread\":" << t << ",\"seq\":" << i
                                  << ",\"msg\":\"log to kafka\"}";
            }
        });
    }
    for (auto& w : workers) w.join();

    // The documented shutdown order: remove the sink, flush, close.
    logging::core::get()->remove_sink(sink);
    sink->flush();
    writer->close(10s);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const kafka_log::WriterStats s = writer->stats();

    // Read back: this run's records on the topic, and in the spool.
    const std::string marker = "{\"run\":\"" + id + "\"";
    std::map<std::string, int> on_topic;
    std::size_t read_back = 0;
    bool read_ok = true;
    try {
        for (auto& r : kafka_log::payloads(kafka_log::read_topic(brokers, o.topic, 60s, {}))) {
            if (r.rfind(marker, 0) == 0) {
                ++on_topic[r];
                ++read_back;
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "read-back failed: " << e.what() << "\n";
        read_ok = false;
    }
    std::set<std::string> in_fallback;
    std::uint64_t spooled = 0, spool_corrupt = 0;
    try {
        kafka_log::SpoolReader reader(spool_dir);
        for (kafka_log::SpoolRecord r; reader.next(r);) {
            if (r.payload.rfind(marker, 0) != 0) continue;  // an earlier run's
            in_fallback.insert(r.payload);
            ++spooled;
        }
        spool_corrupt = reader.stats().corrupt;
    } catch (const std::exception& e) {
        std::cerr << "spool read-back failed: " << e.what() << "\n";
        read_ok = false;
    }
    std::size_t missing = 0;
    std::size_t duplicates = 0;
    for (int t = 0; t < o.threads; ++t) {
        for (int i = 0; i < o.records; ++i) {
            const std::string r = marker + ",\"thread\":" + std::to_string(t) + ",\"seq\":" + std::to_string(i) +
                                  ",\"msg\":\"log to kafka\"}";
            const auto it = on_topic.find(r);
            const int n = it == on_topic.end() ? 0 : it->second;
            if (n == 0 && !in_fallback.count(r)) ++missing;
            if (n > 1) duplicates += static_cast<std::size_t>(n - 1);
        }
    }

    const std::uint64_t sent = static_cast<std::uint64_t>(o.threads) * static_cast<std::uint64_t>(o.records);
    const bool identity = s.balanced() && s.submitted == sent;
    // A counter is a claim: every record counted in the fallback is in the spool, whole.
    const bool delivered_read_back = read_ok && read_back >= s.delivered && missing == 0 && duplicates == 0 &&
                                     spooled == s.fallback_total() && spool_corrupt == 0;
    std::printf("  sent               %10llu\n", static_cast<unsigned long long>(s.submitted));
    std::printf("  delivered          %10llu\n", static_cast<unsigned long long>(s.delivered));
    std::printf("  in fallback        %10llu  (queue_full %llu, too_large %llu, delivery_failed %llu, closed %llu, "
                "unreachable %llu, reentrant %llu) -> %s\n",
                static_cast<unsigned long long>(s.fallback_total()),
                static_cast<unsigned long long>(s.fallback_queue_full),
                static_cast<unsigned long long>(s.fallback_too_large),
                static_cast<unsigned long long>(s.fallback_delivery_failed),
                static_cast<unsigned long long>(s.fallback_closed),
                static_cast<unsigned long long>(s.fallback_unreachable),
                static_cast<unsigned long long>(s.fallback_reentrant), spool_dir.c_str());
    std::printf("  in the spool       %10llu  (read back with SpoolReader, corrupt %llu)\n",
                static_cast<unsigned long long>(spooled), static_cast<unsigned long long>(spool_corrupt));
    std::printf("  possibly persisted %10llu\n", static_cast<unsigned long long>(s.possibly_persisted));
    std::printf("  lost               %10llu\n", static_cast<unsigned long long>(s.lost));
    std::printf("  in flight          %10llu\n", static_cast<unsigned long long>(s.in_flight));
    std::printf("  read back          %10zu  (missing %zu, duplicated %zu)\n", read_back, missing, duplicates);
    std::printf("  wall time          %10.3f s  (%.0f records/s, flush and close included)\n", seconds,
                static_cast<double>(sent) / seconds);
    std::printf("  identity           %s: submitted == delivered + fallback + lost + in_flight\n",
                identity ? "OK" : "BROKEN");
    std::printf("  read-back          %s\n", delivered_read_back ? "OK: every record on the topic or in the spool"
                                                                  : "FAILED");
    if (o.spool.empty() && s.fallback_total() == 0) {
        sink.reset();  // the last owners of the writer, and so of the spool: release it first
        writer.reset();
        fallback.reset();
        std::error_code ec;
        std::filesystem::remove_all(spool_dir, ec);  // our own spool, empty
    }
    return identity && delivered_read_back ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<Options> options;
    try {
        options = parse(argc, argv);
        if (!options) return 0;
    } catch (const std::exception& e) {
        std::cerr << "concurrent_write: " << e.what() << "\n" << usage;
        return 2;
    }
    try {
        return run(*options);
    } catch (const kafka_log::ConfigError& e) {
        std::cerr << "concurrent_write: configuration error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "concurrent_write: " << e.what() << "\n";
        return 1;
    }
}
