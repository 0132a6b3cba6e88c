// SPDX-License-Identifier: Apache-2.0
// kafka_log_spool replay: the spool's lock, a producer, and passes of a SpoolDrain.
#include "spool_replay.hpp"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>

#include "kafka_log/errors.hpp"
#include "kafka_log/fallback_writer.hpp"
#include "kafka_log/producer_config.hpp"
#include "kafka_log/rdkafka_producer.hpp"
#include "kafka_log/spool_drain.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "replay_console.hpp"
#include "spool_inspect.hpp"

namespace kafka_log::spool_tool {

namespace {

/// The 1-based line of `path` that sets `key`, or 0.
int line_of_key(const fs::path& path, const std::string& key) {
    std::ifstream in(path);
    int number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        const auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string name = line.substr(0, eq);
        const auto first = name.find_first_not_of(" \t\r");
        const auto last = name.find_last_not_of(" \t\r");
        if (first != std::string::npos && name.substr(first, last - first + 1) == key)
            return number;
    }
    return 0;
}

/// How long a pass waits for Kafka's answers: the producer's message timeout (librdkafka
/// reports every record within it), and 5 s for the reports to arrive.
std::chrono::milliseconds answer_wait(const ProducerConfig& config) {
    long long timeout_ms = 30000;  // RdKafkaProducer's default
    for (const char* key : {"message.timeout.ms", "delivery.timeout.ms"}) {
        if (const auto value = config.get(key)) {
            long long parsed = 0;
            const auto [ptr, ec] =
                std::from_chars(value->data(), value->data() + value->size(), parsed);
            if (ec == std::errc{} && ptr == value->data() + value->size() && parsed >= 0)
                timeout_ms = parsed;
        }
    }
    if (timeout_ms == 0)
        timeout_ms = 300000;  // 0 is "no timeout" to librdkafka: give a pass 5 minutes
    return std::chrono::milliseconds(timeout_ms + 5000);
}

/// `replay --dry-run`: what would be sent, per topic.
int run_dry_run(const ReplayArgs& args, Output& out) {
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>
        per_topic;  // records, payload bytes
    std::uint64_t possibly_duplicate = 0;
    const SpoolTally tally = tally_spool(args.dir, true, [&](const SpoolRecord& record) {
        auto& [records, bytes] = per_topic[args.topic.empty() ? record.topic : args.topic];
        ++records;
        bytes += record.payload.size();
        if (record.possibly_persisted) ++possibly_duplicate;
    });
    for (const auto& [topic, counts] : per_topic) {
        out.write("topic " + topic + ": records " + std::to_string(counts.first) +
                  ", payload bytes " + std::to_string(counts.second) + "\n");
    }
    out.write("would replay " + std::to_string(tally.records) + " records, payload bytes " +
              std::to_string(tally.payload_bytes) + ", topics " + std::to_string(per_topic.size()) +
              ", possibly duplicate " + std::to_string(possibly_duplicate) +
              ", skipped as corrupt " + std::to_string(tally.corrupt) + "\n");
    return tally.records == 0 && tally.unreadable == 0 ? 0 : 1;
}

/// "in use by pid 1234" in SpoolFallback's lock error, or empty when it is another error.
std::string holder_pid(std::string_view message) {
    constexpr std::string_view marker = "in use by pid ";
    const auto at = message.find(marker);
    if (at == std::string_view::npos) return {};
    const auto begin = at + marker.size();
    const auto end = message.find_first_not_of("0123456789?", begin);
    return std::string(message.substr(begin, end == std::string_view::npos ? end : end - begin));
}

/// Passes of the drain until one confirms nothing new, or two in a row fail without confirming
/// anything.
void drain_passes(SpoolDrain& drain, std::chrono::milliseconds wait) {
    int failed_in_a_row = 0;
    for (;;) {
        const std::uint64_t before = drain.stats().replayed;
        const bool ok = drain.drain_once(wait);
        const bool confirmed = drain.stats().replayed > before;
        if (ok && !confirmed)
            return;  // nothing new to send (or only what Kafka refuses as too large)
        if (ok || confirmed) {
            failed_in_a_row = 0;
        } else if (++failed_in_a_row == 2) {
            return;
        }
    }
}

}  // namespace

int run_replay(const ReplayArgs& args, Output& out) {
    std::error_code ec;
    if (!fs::is_directory(args.dir, ec)) {
        std::fprintf(stderr, "%s: '%s' %s\n", program, args.dir.c_str(),
                     fs::exists(args.dir, ec) ? "is not a directory" : "does not exist");
        return 2;
    }
    ProducerConfig config;
    config.set("bootstrap.servers", args.brokers).set("enable.idempotence", "true");
    try {
        if (args.producer_config) config.merge(ProducerConfig::from_file(*args.producer_config));
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "%s: --producer-config: %s\n", program, e.what());
        return 2;
    }
    if (args.dry_run) return run_dry_run(args, out);

    ReplayConsole console(::isatty(STDERR_FILENO) == 1);
    kafka_log::RdKafkaOptions options;
    options.log_callback = [&console](int, std::string_view facility, std::string_view message) {
        console.message("librdkafka " + std::string(facility) + ": " + std::string(message));
    };
    options.error_callback = [&console](int, std::string_view reason) {
        console.message("kafka: " + std::string(reason), reason);
    };
    std::shared_ptr<RdKafkaProducer> producer;
    try {
        producer = std::make_shared<RdKafkaProducer>(config, std::move(options));
    } catch (const ConfigError& e) {
        const int line = args.producer_config && !e.key().empty()
                             ? line_of_key(*args.producer_config, e.key())
                             : 0;
        if (line != 0) {
            std::fprintf(stderr, "%s: %s:%d: key '%s': %s\n", program,
                         args.producer_config->c_str(), line, e.key().c_str(), e.what());
        } else {
            std::fprintf(stderr, "%s: producer configuration: %s\n", program, e.what());
        }
        return 2;
    }

    // The lock: a spool a live process holds is that process's to drain. Segments are never
    // written by this spool: the smallest reservation will do.
    std::shared_ptr<kafka_log::SpoolFallback> spool;
    try {
        spool = std::make_shared<kafka_log::SpoolFallback>(
            args.dir, kafka_log::SpoolOptions{.segment_bytes = 4096, .replay_rate = 0});
    } catch (const SpoolError& e) {
        producer->close(std::chrono::milliseconds(0));  // nothing was sent
        const std::string pid = holder_pid(e.what());
        if (!pid.empty()) {
            std::fprintf(stderr, "%s: %s is held by a live writer (pid %s): %s\n", program,
                         args.dir.c_str(), pid.c_str(), e.what());
        } else {
            std::fprintf(stderr, "%s: %s\n", program, e.what());
        }
        return 1;
    }

    const SpoolTally before = tally_spool(args.dir, false);  // unreadable ones: the drain says so
    kafka_log::SpoolDrainOptions drain_options;
    drain_options.rate = args.rate;
    drain_options.topic = args.topic;
    auto drain = std::make_shared<SpoolDrain>(spool, producer, std::move(drain_options));
    // The drain outlives every report: the producer is closed (and its last reports served)
    // before the drain goes.
    producer->set_delivery_handler(
        [d = drain.get()](const kafka_log::DeliveryReport& r) { d->on_report(r); });
    SpoolDrainStats stats;
    try {
        console.start(before.records, [d = drain.get()] { return d->stats(); });
        drain_passes(*drain, answer_wait(config));
        producer->close(
            std::chrono::seconds(5));  // what is still in flight is reported to the drain
        console.finish();
        stats = drain->stats();
    } catch (...) {
        producer->close(std::chrono::seconds(5));
        console.finish();  // while the drain it reads is still there
        throw;
    }
    drain.reset();
    producer.reset();
    spool.reset();  // unlocks the directory

    const SpoolTally left = tally_spool(args.dir, true);
    out.write("replayed " + std::to_string(stats.replayed) + ", skipped as corrupt " +
              std::to_string(stats.corrupt) + ", failed " + std::to_string(stats.failures) +
              ", left " + std::to_string(left.records) + "\n");
    if (left.unreadable != 0) {
        std::fprintf(stderr,
                     "%s: %llu segment(s) could not be read; their records are not in 'left'\n",
                     program, static_cast<unsigned long long>(left.unreadable));
    }
    return left.records == 0 && left.unreadable == 0 ? 0 : 1;
}

}  // namespace kafka_log::spool_tool
