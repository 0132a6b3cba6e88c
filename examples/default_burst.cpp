// SPDX-License-Identifier: Apache-2.0
// default_burst: how large a burst the default producer configuration takes without sending
// records to the fallback. N threads log M JSON records each, all at once, through one
// Boost.Log frontend into a KafkaWriter with the default ProducerConfig (only
// bootstrap.servers set) on an embedded cluster; the program prints every bucket, checks the
// no-loss identity and counts the records back on the topic and in the spool.
//
//   default_burst [--frontend synchronous|unlocked|asynchronous|asynchronous_unbounded]
//                 [--threads N] [--records N] [--set KEY=VALUE]... [--handoff-slots N]
//                 [--queue-full-max-wait-ms N]
//
// Frontends: `synchronous` is Boost's synchronous_sink, `unlocked` is unlocked_sink (what a
// settings file builds by default), `asynchronous` the frontend a settings file builds for
// `Asynchronous=true` (bounded_fifo_queue of 65 536 records, block_on_overflow) and
// `asynchronous_unbounded` Boost's default asynchronous_sink (unbounded_fifo_queue).
// The spool's own replay is off (SpoolReplayRate=0), so the spool holds exactly what spilled.
// Counts, not timings: the wall time printed depends on the machine's load.
//
// Exit status: 0 when the identity holds and every record is on the topic or in the spool;
// 1 when not; 2 for a bad command line.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/log/core.hpp>
#include <boost/log/sinks/async_frontend.hpp>
#include <boost/log/sinks/block_on_overflow.hpp>
#include <boost/log/sinks/bounded_fifo_queue.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/unbounded_fifo_queue.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/setup/common_attributes.hpp>
#include <boost/make_shared.hpp>

#include <kafka_log/boost_log/json_formatter.hpp>
#include <kafka_log/boost_log/kafka_sink_backend.hpp>
#include <kafka_log/kafka_writer.hpp>
#include <kafka_log/rdkafka_producer.hpp>
#include <kafka_log/spool_fallback.hpp>
#include <kafka_log/spool_reader.hpp>
#include <kafka_log/testing/embedded_cluster.hpp>

namespace {

namespace logging = boost::log;
namespace sinks = boost::log::sinks;
using Backend = kafka_log::KafkaSinkBackend;

struct Options {
    std::string frontend = "synchronous";
    int threads = 4;
    int records = 100000;  // per thread
    std::vector<std::pair<std::string, std::string>> properties;
    std::size_t handoff_slots = kafka_log::RdKafkaOptions{}.handoff_slots;
    int queue_full_max_wait_ms = 0;  // WriterOptions::queue_full_max_wait
};

constexpr const char* usage =
    "usage: default_burst [options]\n"
    "  --frontend F      synchronous (default), unlocked, asynchronous (Asynchronous=true),\n"
    "                    asynchronous_unbounded (Boost's default asynchronous_sink)\n"
    "  --threads N       logging threads (default: 4)\n"
    "  --records N       records per thread (default: 100000)\n"
    "  --set KEY=VALUE   a librdkafka property over the defaults (repeatable)\n"
    "  --handoff-slots N RdKafkaOptions::handoff_slots (default: 8192)\n"
    "  --queue-full-max-wait-ms N  WriterOptions::queue_full_max_wait (default: 0, no wait)\n";

int positive(const std::string& flag, const std::string& value) {
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
        if (i + 1 >= argc) throw std::invalid_argument("missing value after '" + flag + "'");
        const std::string value = argv[++i];
        if (flag == "--frontend") {
            if (value != "synchronous" && value != "unlocked" && value != "asynchronous" &&
                value != "asynchronous_unbounded")
                throw std::invalid_argument("unknown frontend '" + value + "'");
            o.frontend = value;
        } else if (flag == "--threads") {
            o.threads = positive(flag, value);
        } else if (flag == "--records") {
            o.records = positive(flag, value);
        } else if (flag == "--handoff-slots") {
            o.handoff_slots = static_cast<std::size_t>(positive(flag, value));
        } else if (flag == "--queue-full-max-wait-ms") {
            o.queue_full_max_wait_ms = positive(flag, value);
        } else if (flag == "--set") {
            const auto eq = value.find('=');
            if (eq == std::string::npos || eq == 0)
                throw std::invalid_argument("--set needs KEY=VALUE, got '" + value + "'");
            o.properties.emplace_back(value.substr(0, eq), value.substr(eq + 1));
        } else {
            throw std::invalid_argument("unknown option '" + flag + "'");
        }
    }
    return o;
}

/// The frontend under test, and how it is stopped before the writer closes.
struct Frontend {
    boost::shared_ptr<sinks::basic_formatting_sink_frontend<char>> sink;
    std::function<void()> stop = [] {};
};

Frontend make_frontend(const std::string& name, boost::shared_ptr<Backend> backend) {
    Frontend f;
    if (name == "synchronous") {
        f.sink = boost::make_shared<sinks::synchronous_sink<Backend>>(backend);
    } else if (name == "unlocked") {
        f.sink = boost::make_shared<sinks::unlocked_sink<Backend>>(backend);
    } else if (name == "asynchronous") {
        // What register_boost_log_factory() builds for Asynchronous=true.
        using Sink =
            sinks::asynchronous_sink<Backend,
                                     sinks::bounded_fifo_queue<65536, sinks::block_on_overflow>>;
        auto sink = boost::make_shared<Sink>(backend);
        f.stop = [sink] { sink->stop(), sink->feed_records(); };
        f.sink = sink;
    } else {
        using Sink = sinks::asynchronous_sink<Backend, sinks::unbounded_fifo_queue>;
        auto sink = boost::make_shared<Sink>(backend);
        f.stop = [sink] { sink->stop(), sink->feed_records(); };
        f.sink = sink;
    }
    return f;
}

std::string effective(const kafka_log::RdKafkaProducer& producer, const std::string& key) {
    const std::string text = "\n" + producer.redacted_config();
    const auto at = text.find("\n" + key + "=");
    if (at == std::string::npos) return "(librdkafka's default)";
    const auto from = at + key.size() + 2;
    return text.substr(from, text.find('\n', from) - from);
}

int run(const Options& o) {
    using namespace std::chrono_literals;
    using level = logging::trivial::severity_level;

    kafka_log::EmbeddedCluster cluster(3);
    const std::string topic = "burst-" + o.frontend;
    // The embedded cluster keeps about 5 MiB of each partition: enough partitions to keep all.
    cluster.create_topic(topic, 64, 3);
    kafka_log::ProducerConfig config{{"bootstrap.servers", cluster.bootstrap_servers()}};
    for (const auto& [key, value] : o.properties) config.set(key, value);
    kafka_log::RdKafkaOptions producer_options;
    producer_options.handoff_slots = o.handoff_slots;
    auto producer = std::make_shared<kafka_log::RdKafkaProducer>(config, producer_options);

    const auto spool_dir = std::filesystem::temp_directory_path() /
                           ("kafka_log-default_burst-" + std::to_string(::getpid()));
    kafka_log::SpoolOptions spool_options;
    spool_options.replay_rate = 0;  // the spool keeps what spilled, for the count below
    auto writer = std::make_shared<kafka_log::KafkaWriter>(
        producer, std::make_shared<kafka_log::SpoolFallback>(spool_dir, spool_options),
        kafka_log::WriterOptions{
            .topic = topic,
            .queue_full_max_wait = std::chrono::milliseconds(o.queue_full_max_wait_ms)});
    Frontend frontend = make_frontend(o.frontend, boost::make_shared<Backend>(writer));
    frontend.sink->set_formatter(kafka_log::json_formatter());
    logging::core::get()->add_sink(frontend.sink);
    logging::add_common_attributes();

    std::printf(
        "default_burst: %d threads x %d records, frontend %s, queue bound %s records / %s "
        "KiB, handoff_slots %zu, queue_full_max_wait %d ms\n",
        o.threads, o.records, o.frontend.c_str(),
        effective(*producer, "queue.buffering.max.messages").c_str(),
        effective(*producer, "queue.buffering.max.kbytes").c_str(), o.handoff_slots,
        o.queue_full_max_wait_ms);
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::atomic<int> done{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < o.threads; ++t) {
        workers.emplace_back([&, t] {
            logging::sources::severity_logger<level> logger;
            ready.fetch_add(1);
            while (!go.load()) std::this_thread::yield();
            for (int i = 0; i < o.records; ++i)
                BOOST_LOG_SEV(logger, level::info) << "burst record " << i << " of thread " << t;
            done.fetch_add(1);
        });
    }
    while (ready.load() < o.threads) std::this_thread::yield();
    const auto start = std::chrono::steady_clock::now();
    go.store(true);
    std::uint64_t peak_in_flight = 0;  // sampled every millisecond while the threads log
    while (done.load() < o.threads) {
        peak_in_flight = std::max(peak_in_flight, writer->stats().in_flight);
        std::this_thread::sleep_for(1ms);
    }
    for (auto& w : workers) w.join();
    const double logging_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    logging::core::get()->remove_sink(frontend.sink);  // the documented shutdown order
    frontend.stop();
    frontend.sink->flush();
    writer->close(30s);
    const kafka_log::WriterStats s = writer->stats();

    const std::uint64_t on_topic = cluster.message_count(topic, 30s);
    std::uint64_t in_spool = 0, spool_queue_full = 0;
    {
        kafka_log::SpoolReader reader(spool_dir);
        for (kafka_log::SpoolRecord r; reader.next(r);) {
            ++in_spool;
            if (r.reason == kafka_log::FallbackReason::queue_full) ++spool_queue_full;
        }
    }
    frontend = {};
    writer.reset();
    producer.reset();
    std::error_code ec;
    std::filesystem::remove_all(spool_dir, ec);

    const std::uint64_t sent =
        static_cast<std::uint64_t>(o.threads) * static_cast<std::uint64_t>(o.records);
    rusage resources{};
    ::getrusage(RUSAGE_SELF, &resources);
    const auto n = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
    std::printf("  submitted           %10llu\n", n(s.submitted));
    std::printf("  delivered           %10llu  (%.1f %%)\n", n(s.delivered),
                100.0 * static_cast<double>(s.delivered) / static_cast<double>(sent));
    std::printf("  fallback queue_full %10llu  (%.1f %%)\n", n(s.fallback_queue_full),
                100.0 * static_cast<double>(s.fallback_queue_full) / static_cast<double>(sent));
    std::printf(
        "  fallback other      %10llu  (too_large %llu, delivery_failed %llu, closed %llu, "
        "unreachable %llu, reentrant %llu)\n",
        n(s.fallback_total() - s.fallback_queue_full), n(s.fallback_too_large),
        n(s.fallback_delivery_failed), n(s.fallback_closed), n(s.fallback_unreachable),
        n(s.fallback_reentrant));
    std::printf("  lost                %10llu\n", n(s.lost));
    std::printf("  in flight           %10llu  (peak sampled while logging: %llu)\n",
                n(s.in_flight), n(peak_in_flight));
    std::printf("  on the topic        %10llu  (read back: high watermarks)\n", n(on_topic));
    std::printf("  in the spool        %10llu  (read back: queue_full %llu)\n", n(in_spool),
                n(spool_queue_full));
    std::printf("  peak RSS            %10ld KiB; logging took %.2f s on this (loaded) machine\n",
                resources.ru_maxrss, logging_seconds);
    const bool identity = s.balanced() && s.submitted == sent && s.in_flight == 0 && s.lost == 0;
    const bool read_back = on_topic == s.delivered && in_spool == s.fallback_total() &&
                           spool_queue_full == s.fallback_queue_full;
    std::printf("  identity            %s: submitted == delivered + fallback + lost + in_flight\n",
                identity ? "OK" : "BROKEN");
    std::printf("  read-back           %s: topic == delivered, spool == fallback\n",
                read_back ? "OK" : "FAILED");
    return identity && read_back ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<Options> options;
    try {
        options = parse(argc, argv);
        if (!options) return 0;
    } catch (const std::exception& e) {
        std::cerr << "default_burst: " << e.what() << "\n" << usage;
        return 2;
    }
    try {
        return run(*options);
    } catch (const std::exception& e) {
        std::cerr << "default_burst: " << e.what() << "\n";
        return 1;
    }
}
