// SPDX-License-Identifier: Apache-2.0
// concurrent_write: N threads log M records each through Boost.Log into Kafka, then the topic
// is read back and every record is accounted for. By default the cluster is an embedded one
// (librdkafka's mock cluster on 127.0.0.1); --brokers points it at a real cluster.
//
// Exit status: 0 when the no-loss identity holds and every record is on the topic or in the
// fallback; 1 when not; 2 for a bad command line or configuration.

#include <unistd.h>

#include <algorithm>
#include <atomic>
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
#include <kafka_log/errors.hpp>
#include <kafka_log/kafka_writer.hpp>
#include <kafka_log/rdkafka_producer.hpp>
#include <kafka_log/spool_drain.hpp>
#include <kafka_log/spool_fallback.hpp>
#include <kafka_log/spool_reader.hpp>
#include <kafka_log/testing/embedded_cluster.hpp>
#include <kafka_log/testing/topic_reader.hpp>

namespace {

struct Options {
    std::string brokers;  // empty: embedded cluster
    std::string topic = "concurrent-write";
    int threads = 10;
    int records = 10000;  // per thread
    std::filesystem::path spool;
    std::filesystem::path producer_config;
    int rate = 0;       // records per second over all threads; 0: flat out
    int outage_ms = 0;  // embedded cluster: every broker down this long, half-way through
};

constexpr const char* usage =
    "usage: concurrent_write [options]\n"
    "  --brokers HOST:PORT,...   a real Kafka cluster (default: an embedded cluster on 127.0.0.1)\n"
    "  --topic NAME              topic to write to (default: concurrent-write)\n"
    "  --threads N               logging threads (default: 10)\n"
    "  --records N               records per thread (default: 10000)\n"
    "  --spool DIR               spool directory (default: a new directory under the temp "
    "directory)\n"
    "  --producer-config FILE    librdkafka properties file (key=value lines)\n"
    "  --rate N                  records per second over all threads (default: as fast as they "
    "go)\n"
    "  --outage-ms N             embedded cluster only: every broker down for N ms half-way "
    "through;\n"
    "                            the run then waits for the spool to drain back into the topic\n"
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
        if (i + 1 >= argc)
            throw std::invalid_argument("unknown option or missing value: '" + flag + "'");
        const std::string value = argv[++i];
        if (flag == "--brokers")
            o.brokers = value;
        else if (flag == "--topic")
            o.topic = value;
        else if (flag == "--threads")
            o.threads = parse_count(flag, value);
        else if (flag == "--records")
            o.records = parse_count(flag, value);
        else if (flag == "--spool")
            o.spool = value;
        else if (flag == "--producer-config")
            o.producer_config = value;
        else if (flag == "--rate")
            o.rate = parse_count(flag, value);
        else if (flag == "--outage-ms")
            o.outage_ms = parse_count(flag, value);
        else
            throw std::invalid_argument("unknown option '" + flag + "'");
    }
    if (o.topic.empty()) throw std::invalid_argument("--topic must not be empty");
    if (o.outage_ms > 0 && !o.brokers.empty()) {
        throw std::invalid_argument(
            "--outage-ms takes down the embedded cluster: it cannot go with --brokers");
    }
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
    if (!o.producer_config.empty())
        config = kafka_log::ProducerConfig::from_file(o.producer_config);
    config.set("bootstrap.servers", brokers);

    const std::filesystem::path spool_dir =
        !o.spool.empty()
            ? o.spool
            : std::filesystem::temp_directory_path() /
                  ("kafka_log-concurrent_write-" + std::to_string(::getpid()) + ".spool");
    auto producer = std::make_shared<kafka_log::RdKafkaProducer>(config);
    auto fallback = std::make_shared<kafka_log::SpoolFallback>(spool_dir);
    auto writer = std::make_shared<kafka_log::KafkaWriter>(
        producer, fallback, kafka_log::WriterOptions{.topic = o.topic});
    auto sink = boost::make_shared<logging::sinks::unlocked_sink<kafka_log::KafkaSinkBackend>>(
        boost::make_shared<kafka_log::KafkaSinkBackend>(writer));
    sink->set_formatter(logging::expressions::stream << logging::expressions::smessage);
    logging::core::get()->add_sink(sink);

    std::cout << "kafka_log concurrent_write: " << o.threads << " threads x " << o.records
              << " records -> topic '" << o.topic << "' on "
              << (cluster ? "an embedded cluster at " : "") << brokers << "\n";
    const std::string id = run_id();
    const auto start = std::chrono::steady_clock::now();
    const std::uint64_t total =
        static_cast<std::uint64_t>(o.threads) * static_cast<std::uint64_t>(o.records);
    std::atomic<std::uint64_t> written{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < o.threads; ++t) {
        workers.emplace_back([&, t] {
            logging::sources::logger logger;
            const double per_thread = o.rate > 0 ? static_cast<double>(o.rate) / o.threads : 0;
            for (int i = 0; i < o.records; ++i) {
                if (per_thread > 0) {
                    std::this_thread::sleep_until(start +
                                                  std::chrono::duration<double>(i / per_thread));
                }
                BOOST_LOG(logger) << "{\"run\":\"" << id << "\",\"thread\":" << t
                                  << ",\"seq\":" << i << ",\"msg\":\"log to kafka\"}";
                written.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    // The outage: every broker down for outage_ms once half the records are written.
    std::thread outage;
    if (o.outage_ms > 0 && cluster) {
        outage = std::thread([&] {
            while (written.load(std::memory_order_relaxed) < total / 2)
                std::this_thread::sleep_for(1ms);
            std::cout << "  outage: every broker down for " << o.outage_ms << " ms after "
                      << written.load(std::memory_order_relaxed) << " records\n";
            for (int b = 1; b <= cluster->brokers(); ++b) cluster->set_broker_down(b);
            std::this_thread::sleep_for(std::chrono::milliseconds(o.outage_ms));
            for (int b = 1; b <= cluster->brokers(); ++b) cluster->set_broker_up(b);
        });
    }
    for (auto& w : workers) w.join();
    if (outage.joinable()) {
        outage.join();
        // The writer's drain sends what went to the spool back to Kafka by itself: wait for it.
        const auto deadline = std::chrono::steady_clock::now() + 120s;
        while (std::chrono::steady_clock::now() < deadline) {
            const kafka_log::WriterStats now = writer->stats();
            if (now.spooled == 0 && now.in_flight == 0) break;
            std::this_thread::sleep_for(50ms);
        }
    }

    // The documented shutdown order: remove the sink, flush, close.
    logging::core::get()->remove_sink(sink);
    sink->flush();
    writer->close(10s);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const kafka_log::WriterStats s = writer->stats();

    // Read back: this run's records on the topic, and in the spool.
    const std::string marker = "{\"run\":\"" + id + "\"";
    struct Copies {
        int all = 0;
        int live = 0;           // no kafka_log.replayed header: sent by the writer itself
        int plain_replays = 0;  // replayed without the possibly-duplicate flag
    };
    std::map<std::string, Copies> on_topic;
    std::set<std::string> replayed;  // on the topic, sent back from the spool by the writer's drain
    std::size_t read_back = 0;
    bool read_ok = true;
    try {
        for (auto& r : kafka_log::read_topic(brokers, o.topic, 60s, {})) {
            if (r.payload.rfind(marker, 0) == 0) {
                Copies& c = on_topic[r.payload];
                ++c.all;
                ++read_back;
                const std::string* flag = r.header(kafka_log::replayed_header);
                if (flag == nullptr) ++c.live;
                if (flag != nullptr) replayed.insert(r.payload);
                if (flag != nullptr && *flag != "possibly-duplicate") ++c.plain_replays;
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
    std::size_t duplicates = 0;  // extra copies kafka_log sent without flagging them
    std::size_t live_twice = 0;  // extra copies of a record the writer sent once (the broker's)
    std::size_t flagged = 0;     // extra copies flagged possibly-duplicate
    for (int t = 0; t < o.threads; ++t) {
        for (int i = 0; i < o.records; ++i) {
            const std::string r = marker + ",\"thread\":" + std::to_string(t) +
                                  ",\"seq\":" + std::to_string(i) + ",\"msg\":\"log to kafka\"}";
            const auto it = on_topic.find(r);
            const Copies c = it == on_topic.end() ? Copies{} : it->second;
            if (c.all == 0 && !in_fallback.count(r)) ++missing;
            if (c.all <= 1) continue;
            // Every copy live: the writer handed the record to the producer once and librdkafka
            // retried it. A real broker de-duplicates those retries (enable.idempotence); the
            // embedded cluster forgets its idempotence state when its brokers go down and up.
            if (c.live == c.all)
                live_twice += static_cast<std::size_t>(c.all - 1);
            else if (c.plain_replays == 0 && c.live <= 1)
                flagged += static_cast<std::size_t>(c.all - 1);
            else
                duplicates += static_cast<std::size_t>(c.all - 1);
        }
    }

    const std::uint64_t sent =
        static_cast<std::uint64_t>(o.threads) * static_cast<std::uint64_t>(o.records);
    const bool identity = s.balanced() && s.submitted == sent;
    // A counter is a claim: every record counted in the fallback is in the spool, whole, or was
    // sent back from it to the topic (a record whose replay Kafka did not confirm before the
    // close may be in both).
    std::set<std::string> fallback_accounted = in_fallback;
    fallback_accounted.insert(replayed.begin(), replayed.end());
    // The embedded cluster's own duplicates are tolerated only around an outage it was put through.
    const bool broker_duplicates_ok = live_twice == 0 || (cluster && o.outage_ms > 0);
    const bool delivered_read_back =
        read_ok && read_back >= s.delivered && missing == 0 && duplicates == 0 &&
        broker_duplicates_ok && flagged <= s.possibly_persisted &&
        fallback_accounted.size() == s.fallback_total() && spool_corrupt == 0;
    std::printf("  sent               %10llu\n", static_cast<unsigned long long>(s.submitted));
    std::printf("  delivered          %10llu\n", static_cast<unsigned long long>(s.delivered));
    std::printf(
        "  in fallback        %10llu  (queue_full %llu, too_large %llu, delivery_failed %llu, "
        "closed %llu, "
        "unreachable %llu, reentrant %llu) -> %s\n",
        static_cast<unsigned long long>(s.fallback_total()),
        static_cast<unsigned long long>(s.fallback_queue_full),
        static_cast<unsigned long long>(s.fallback_too_large),
        static_cast<unsigned long long>(s.fallback_delivery_failed),
        static_cast<unsigned long long>(s.fallback_closed),
        static_cast<unsigned long long>(s.fallback_unreachable),
        static_cast<unsigned long long>(s.fallback_reentrant), spool_dir.c_str());
    std::printf("  in the spool       %10llu  (read back with SpoolReader, corrupt %llu)\n",
                static_cast<unsigned long long>(spooled),
                static_cast<unsigned long long>(spool_corrupt));
    std::printf(
        "  replayed           %10zu  (sent back from the spool by the writer: on the topic with "
        "kafka_log.replayed;"
        " the writer counted %llu)\n",
        replayed.size(), static_cast<unsigned long long>(s.replayed));
    std::printf("  on the topic       %10zu  distinct records of this run\n", on_topic.size());
    std::printf("  possibly persisted %10llu\n",
                static_cast<unsigned long long>(s.possibly_persisted));
    std::printf("  lost               %10llu\n", static_cast<unsigned long long>(s.lost));
    std::printf("  in flight          %10llu\n", static_cast<unsigned long long>(s.in_flight));
    std::printf(
        "  read back          %10zu  (missing %zu, duplicated %zu; flagged possibly-duplicate %zu; "
        "retried by librdkafka and kept twice by the broker %zu)\n",
        read_back, missing, duplicates, flagged, live_twice);
    std::printf("  wall time          %10.3f s  (%.0f records/s, flush and close included)\n",
                seconds, static_cast<double>(sent) / seconds);
    std::printf("  identity           %s: submitted == delivered + fallback + lost + in_flight\n",
                identity ? "OK" : "BROKEN");
    std::printf("  read-back          %s\n",
                delivered_read_back
                    ? "OK: every record on the topic (delivered or replayed) or in the spool"
                    : "FAILED");
    if (o.spool.empty() && s.fallback_total() == 0) {
        sink.reset();  // the last owners of the writer, and so of the spool: release it first
        writer.reset();
        fallback.reset();
        std::error_code ec;
        std::filesystem::remove_all(spool_dir, ec);  // our own spool, empty
    }
    // With an outage the run waited for the drain: this run's records must all be on the topic.
    const bool drained = o.outage_ms == 0 || (in_fallback.empty() && on_topic.size() == sent);
    if (o.outage_ms > 0) {
        std::printf("  drained            %s\n",
                    drained ? "OK: the spool holds none of this run's records"
                            : "FAILED: records of this run are still in the spool");
    }
    return identity && delivered_read_back && drained ? 0 : 1;
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
