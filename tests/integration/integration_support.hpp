// SPDX-License-Identifier: Apache-2.0
#pragma once

// Shared set-up of the integration tests: an EmbeddedCluster, an RdKafkaProducer tuned for
// fast failure detection, a KafkaWriter with a FileFallback, and read-back helpers.

#include <cctype>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kafka_log/fallback_writer.hpp"
#include "kafka_log/kafka_writer.hpp"
#include "kafka_log/rdkafka_producer.hpp"
#include "kafka_log/testing/embedded_cluster.hpp"
#include "test_support.hpp"

namespace kafka_log::test {

using namespace std::chrono_literals;

/// librdkafka's log and error lines, kept in memory (printed only when a test fails).
class ClientLog {
public:
    RdKafkaOptions options() {
        RdKafkaOptions o;
        o.log_callback = [this](int level, std::string_view facility, std::string_view line) {
            add("log[" + std::to_string(level) + "] " + std::string(facility) + ": " +
                std::string(line));
        };
        o.error_callback = [this](int code, std::string_view reason) {
            add("error " + std::to_string(code) + ": " + std::string(reason));
        };
        return o;
    }
    std::vector<std::string> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }

private:
    void add(std::string line) {
        std::lock_guard lock(mutex_);
        if (lines_.size() < 1000) lines_.push_back(std::move(line));
    }
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

/// Producer settings for tests (TOOLCHAIN.md: short reconnect back-off, finite timeout).
inline ProducerConfig test_config(const EmbeddedCluster& cluster, int message_timeout_ms = 3000) {
    return ProducerConfig{{"bootstrap.servers", cluster.bootstrap_servers()},
                          {"reconnect.backoff.ms", "50"},
                          {"reconnect.backoff.max.ms", "500"},
                          {"retry.backoff.ms", "50"},
                          {"message.timeout.ms", std::to_string(message_timeout_ms)}};
}

/// A writer on a real producer with a file fallback, for one topic.
struct Pipeline {
    Pipeline(std::string topic_name, ProducerConfig config, WriterOptions writer_options = {},
             const std::function<void(RdKafkaOptions&)>& tune = {})
        : topic(std::move(topic_name)),
          producer(std::make_shared<RdKafkaProducer>(std::move(config),
                                                     tuned(client_log.options(), tune))),
          fallback_path(dir / "fallback.log"),
          fallback(std::make_shared<FileFallback>(fallback_path)) {
        writer_options.topic = topic;
        writer = std::make_shared<KafkaWriter>(producer, fallback, writer_options);
    }
    ~Pipeline() {
        if (::testing::Test::HasFailure()) {
            for (const auto& line : client_log.lines())
                std::cerr << "  librdkafka: " << line << "\n";
        }
    }

    std::vector<std::string> fallback_lines() const { return read_lines(fallback_path); }

    static RdKafkaOptions tuned(RdKafkaOptions options,
                                const std::function<void(RdKafkaOptions&)>& tune) {
        if (tune) tune(options);
        return options;
    }

    std::string topic;
    ClientLog client_log;
    TempDir dir;
    std::shared_ptr<RdKafkaProducer> producer;
    std::filesystem::path fallback_path;
    std::shared_ptr<FileFallback> fallback;
    std::shared_ptr<KafkaWriter> writer;
};

/// How often each value occurs.
inline std::map<std::string, int> counts(const std::vector<std::string>& values) {
    std::map<std::string, int> out;
    for (const auto& v : values) ++out[v];
    return out;
}

/// A topic name unique to this test (topic errors in the mock cluster are sticky).
inline std::string unique_topic() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("it-") + info->test_suite_name() + "-" + info->name();
    for (char& c : name) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) c = '-';
    }
    return name;
}

/// Checks "sent ⊆ topic ∪ fallback", that nothing unknown appeared, and that a record is
/// in both places only as often as librdkafka said "possibly persisted".
inline void expect_accounted(const std::vector<std::string>& sent,
                             const std::vector<std::string>& topic,
                             const std::vector<std::string>& fallback, const WriterStats& stats) {
    const auto on_topic = counts(topic);
    const auto in_fallback = counts(fallback);
    std::uint64_t both = 0;
    std::uint64_t missing = 0;
    for (const auto& [record, n] : counts(sent)) {
        const auto t = on_topic.find(record);
        const auto f = in_fallback.find(record);
        const int nt = t == on_topic.end() ? 0 : t->second;
        const int nf = f == in_fallback.end() ? 0 : f->second;
        if (nt + nf < n) {
            if (missing < 5) ADD_FAILURE() << "lost: '" << record << "'";
            ++missing;
        }
        EXPECT_LE(nt, n) << "duplicated on the topic: '" << record << "'";
        if (nt > 0 && nf > 0) ++both;
    }
    EXPECT_EQ(missing, 0u);
    EXPECT_LE(both, stats.possibly_persisted) << "records in both topic and fallback";
    const auto sent_counts = counts(sent);
    for (const auto& [record, n] : on_topic) {
        EXPECT_TRUE(sent_counts.count(record)) << "unknown record on the topic: " << record;
    }
    for (const auto& [record, n] : in_fallback) {
        EXPECT_TRUE(sent_counts.count(record)) << "unknown record in the fallback: " << record;
    }
}

}  // namespace kafka_log::test
