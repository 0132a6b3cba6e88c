// SPDX-License-Identifier: Apache-2.0
// RdKafkaProducer on its own: configuration errors, defaults, the AsyncProducer contract.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration_support.hpp"

namespace kafka_log::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RdKafkaProducerTest, UnknownPropertyIsAConfigErrorNamingTheKey) {
    try {
        RdKafkaProducer producer(
            ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"}, {"linger.mss", "5"}});
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "linger.mss");
        EXPECT_THAT(e.what(), HasSubstr("linger.mss"));
        EXPECT_THAT(e.what(), HasSubstr("No such configuration property"));
    }
}

TEST(RdKafkaProducerTest, BadValueIsAConfigErrorNamingKeyAndReason) {
    try {
        RdKafkaProducer producer(
            ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"}, {"linger.ms", "soon"}});
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "linger.ms");
        EXPECT_THAT(e.what(), HasSubstr("linger.ms"));
        EXPECT_THAT(e.what(), HasSubstr("soon")) << "a non-secret value may be shown";
    }
}

TEST(RdKafkaProducerTest, RejectedSecretValueIsNeverPrinted) {
    // sasl.mechanisms is not secret, but a value librdkafka echoes for a secret key must be masked.
    try {
        RdKafkaProducer producer(
            ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"},
                           {"ssl.key.password.bogus", "hunter2-secret-value"}});
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "ssl.key.password.bogus");
        EXPECT_THAT(e.what(), HasSubstr("ssl.key.password.bogus"));
        EXPECT_THAT(e.what(), Not(HasSubstr("hunter2")));
    }
}

TEST(RdKafkaProducerTest, MissingBootstrapServersIsAConfigError) {
    try {
        RdKafkaProducer producer(ProducerConfig{{"linger.ms", "5"}});
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "bootstrap.servers");
    }
}

TEST(RdKafkaProducerTest, LogDefaultsAppliedAndOverridableAndSecretsRedacted) {
    ClientLog log;
    RdKafkaProducer producer(ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"},
                                            {"message.timeout.ms", "7000"},
                                            {"sasl.password", "hunter2"}},
                             log.options());
    const std::string config = producer.redacted_config();
    EXPECT_THAT(config, HasSubstr("enable.idempotence=true"));
    EXPECT_THAT(config, HasSubstr("queue.buffering.max.kbytes=65536"));
    EXPECT_THAT(config, HasSubstr("message.timeout.ms=7000"));
    EXPECT_THAT(config, HasSubstr("sasl.password=***"));
    EXPECT_THAT(config, Not(HasSubstr("hunter2")));
    producer.close(std::chrono::milliseconds(0));
}

TEST(RdKafkaProducerTest, ProduceAfterCloseReturnsClosed) {
    EmbeddedCluster cluster;
    RdKafkaProducer producer(test_config(cluster));
    producer.set_delivery_handler([](const DeliveryReport&) {});
    producer.close(1s);
    producer.close(1s);  // idempotent
    EXPECT_EQ(producer.produce({"t", "", "late"}), ProduceStatus::closed);
    EXPECT_EQ(producer.in_flight(), 0u);
}

TEST(RdKafkaProducerTest, CopiesThePayloadAndReportsEachRecordOnce) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    RdKafkaProducer producer(test_config(cluster));
    std::mutex mutex;
    std::vector<std::string> reported;
    producer.set_delivery_handler([&](const DeliveryReport& r) {
        std::lock_guard lock(mutex);
        EXPECT_FALSE(r.error.has_value()) << r.error->reason;
        reported.emplace_back(r.message.payload);
    });
    std::string buffer;
    for (int i = 0; i < 50; ++i) {
        buffer = "payload-" + std::to_string(i);
        ASSERT_EQ(producer.produce({topic, "key", buffer}), ProduceStatus::accepted);
        buffer.assign(buffer.size(), '#');  // the caller reuses its buffer at once
    }
    ASSERT_TRUE(producer.flush(10s));
    producer.close(1s);
    std::lock_guard lock(mutex);
    EXPECT_EQ(reported.size(), 50u);
    const auto on_topic = payloads(cluster.read_all(topic, 10s));
    ASSERT_EQ(on_topic.size(), 50u);
    for (int i = 0; i < 50; ++i)
        EXPECT_EQ(on_topic[static_cast<std::size_t>(i)], "payload-" + std::to_string(i));
}

TEST(RdKafkaProducerTest, ReportsClusterUnreachableAndReachableAgain) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    ClientLog log;
    RdKafkaProducer producer(test_config(cluster, 2000), log.options());
    std::atomic<int> unreachable{0};
    std::atomic<int> reachable{0};
    std::atomic<int> delivered{0};
    producer.set_delivery_handler([&](const DeliveryReport& r) {
        if (!r.error) ++delivered;
    });
    producer.set_cluster_state_handler(
        [&](ClusterState s) { ++(s == ClusterState::reachable ? reachable : unreachable); });
    ASSERT_EQ(producer.produce({topic, "", "first"}), ProduceStatus::accepted);
    ASSERT_TRUE(producer.flush(10s));
    cluster.set_broker_down(1);
    ASSERT_TRUE(wait_until([&] { return unreachable.load() > 0; }, 20s));
    cluster.set_broker_up(1);
    ASSERT_EQ(producer.produce({topic, "", "second"}), ProduceStatus::accepted);
    ASSERT_TRUE(wait_until([&] { return reachable.load() > 0; }, 20s));
    producer.close(5s);
    EXPECT_EQ(producer.in_flight(), 0u);
}

TEST(RdKafkaProducerTest, HandlerInstalledAfterTheClusterWasFoundDownIsToldAtOnce) {
    EmbeddedCluster cluster;
    cluster.set_broker_down(1);
    ClientLog log;
    RdKafkaProducer producer(test_config(cluster, 1000), log.options());
    ASSERT_TRUE(wait_until([&] { return producer.cluster_unreachable(); }, 20s));
    std::atomic<int> unreachable{0};
    producer.set_cluster_state_handler([&](ClusterState s) {
        if (s == ClusterState::unreachable) ++unreachable;
    });
    EXPECT_EQ(unreachable.load(), 1) << "told during set_cluster_state_handler";
    producer.close(0ms);
}

// --- secrets: a value of a key not on ProducerConfig's allow-list is never in what() --------

/// The ConfigError that constructing a producer from `config` throws.
ConfigError construction_error(const ProducerConfig& config) {
    try {
        RdKafkaProducer producer(config);
    } catch (const ConfigError& e) {
        return e;
    }
    ADD_FAILURE() << "no ConfigError for:\n" << config.redacted();
    return ConfigError("");
}

TEST(RdKafkaProducerTest, RejectedSecretsAreNamedByKeyWithoutTheirValues) {
    const std::string jaas =
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" "
        "password=\"S3CRET\";";
    // A misspelt key, a Java-only key, an empty key: librdkafka knows none of them.
    for (const auto& [key, value] : {ProducerConfig::Property{"sasl.pasword", "S3CRET"},
                                     ProducerConfig::Property{"sasl.jaas.config", jaas},
                                     ProducerConfig::Property{"", "S3CRET"}}) {
        ProducerConfig config{{"bootstrap.servers", "127.0.0.1:1"}};
        config.set(key, value);
        const ConfigError e = construction_error(config);
        EXPECT_EQ(e.key(), key);
        EXPECT_THAT(e.what(), HasSubstr("property '" + key + "'"));
        EXPECT_THAT(e.what(), Not(HasSubstr("S3CRET"))) << key;
    }
}

TEST(RdKafkaProducerTest, ValueQuotedInLibrdkafkasReasonIsScrubbed) {
    // librdkafka quotes the rejected value whole, or the one token of a list it rejects:
    // `Invalid value "S3CRET" for configuration property "isolation.level"`.
    for (const auto& [key, value] : {ProducerConfig::Property{"isolation.level", "S3CRET"},
                                     ProducerConfig::Property{"builtin.features", "gzip,S3CRET"},
                                     ProducerConfig::Property{"builtin.features", "gzip,S3CR"}}) {
        const ConfigError e =
            construction_error(ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"}, {key, value}});
        EXPECT_EQ(e.key(), key);
        EXPECT_THAT(e.what(),
                    HasSubstr("Invalid value \"***\" for configuration property \"" + key + "\""));
        EXPECT_THAT(e.what(), Not(HasSubstr("S3CR"))) << value;
    }
}

TEST(RdKafkaProducerTest, AllowListedValuesAreShownInRedactedConfig) {
    ClientLog log;
    RdKafkaProducer producer(
        ProducerConfig{
            {"bootstrap.servers", "127.0.0.1:1"}, {"linger.ms", "7"}, {"sasl.username", "S3CRET"}},
        log.options());
    const std::string config = producer.redacted_config();
    EXPECT_THAT(config, HasSubstr("bootstrap.servers=127.0.0.1:1\n"));
    EXPECT_THAT(config, HasSubstr("linger.ms=7\n"));
    EXPECT_THAT(config, Not(HasSubstr("S3CRET")));
    producer.close(std::chrono::milliseconds(0));
}

/// Sends this process's stderr (file descriptor 2) to a file while it lives.
class StderrToFile {
public:
    explicit StderrToFile(std::filesystem::path path) : path_(std::move(path)) {
        std::fflush(stderr);
        saved_ = ::dup(STDERR_FILENO);
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(fd, STDERR_FILENO);
        ::close(fd);
    }
    ~StderrToFile() {
        std::fflush(stderr);
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
    }
    StderrToFile(const StderrToFile&) = delete;
    StderrToFile& operator=(const StderrToFile&) = delete;
    std::string text() const {
        std::ifstream in(path_);
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    }

private:
    std::filesystem::path path_;
    int saved_ = -1;
};

TEST(RdKafkaProducerTest, ErrorLineOnStderrNeverQuotesASecret) {
    // librdkafka reports `Unrecognized sasl.oauthbearer.config beginning at: <the rest of the
    // value>` as a client error; without an error_callback it goes to stderr.
    TempDir dir;
    ClientLog log;
    RdKafkaOptions options = log.options();
    options.error_callback = nullptr;
    std::string text;
    {
        StderrToFile capture(dir / "stderr.txt");
        RdKafkaProducer producer(
            ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"},
                           {"security.protocol", "sasl_plaintext"},
                           {"sasl.mechanisms", "OAUTHBEARER"},
                           {"enable.sasl.oauthbearer.unsecure.jwt", "true"},
                           {"sasl.oauthbearer.config", "principal=u bogus S3CRET"}},
            options);
        EXPECT_TRUE(wait_until(
            [&] { return capture.text().find("sasl.oauthbearer.config") != std::string::npos; },
            10s));
        producer.close(0ms);
        text = capture.text();
    }
    EXPECT_THAT(text, HasSubstr("sasl.oauthbearer.config"));
    EXPECT_THAT(text, Not(HasSubstr("S3CRET")));
}

// --- headers and timestamp ------------------------------------------------------------------

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Owning copies of the reports a producer delivered.
struct ReportCopies {
    struct Entry {
        std::string payload;
        std::string key;
        Headers headers;
        std::int64_t timestamp_ms = 0;
        std::optional<DeliveryError> error;
        std::uint64_t token = 0;
    };
    void attach(AsyncProducer& producer) {
        producer.set_delivery_handler([this](const DeliveryReport& r) {
            Entry entry{std::string(r.message.payload),
                        std::string(r.message.key),
                        {},
                        r.message.timestamp_ms,
                        r.error,
                        r.message.token};
            for (const RecordHeader& h : r.message.headers)
                entry.headers.emplace_back(h.name, h.value);
            std::lock_guard lock(mutex_);
            entries_.push_back(std::move(entry));
        });
    }
    std::vector<Entry> entries() const {
        std::lock_guard lock(mutex_);
        return entries_;
    }
    /// The report of the record with this payload; fails the test when there is none.
    Entry of(const std::string& payload) const {
        for (const Entry& e : entries()) {
            if (e.payload == payload) return e;
        }
        ADD_FAILURE() << "no report for '" << payload << "'";
        return {};
    }

private:
    mutable std::mutex mutex_;
    std::vector<Entry> entries_;
};

constexpr std::int64_t fixed_time = 1700000000123;  // 2023-11-14T22:13:20.123Z

/// Two headers: a name that repeats, and a value holding a NUL byte.
const Headers two_headers{{"trace", "abc"}, {"trace", std::string("x\0y", 3)}};

std::vector<RecordHeader> views_of(const Headers& headers) {
    std::vector<RecordHeader> views;
    for (const auto& [name, value] : headers) views.push_back(RecordHeader{name, value});
    return views;
}

class ProducerMetadataTest : public ::testing::TestWithParam<ProduceOn> {};

TEST_P(ProducerMetadataTest, SendsHeadersAndTimestampAndReadsThemBack) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    ClientLog log;
    RdKafkaOptions options = log.options();
    options.produce_on = GetParam();
    RdKafkaProducer producer(test_config(cluster), options);
    ReportCopies reports;
    reports.attach(producer);

    ASSERT_EQ(producer.produce({topic, "", "before"}), ProduceStatus::accepted);
    ASSERT_TRUE(producer.flush(10s));  // metadata known: the records below keep their order
    Headers many;                      // more headers than the report's stack buffer holds
    for (std::size_t i = 0; i < 12; ++i)
        many.emplace_back("h" + std::to_string(i), std::string(i, 'v'));
    {
        std::string key = "key-1";
        Headers headers = two_headers;
        const auto views = views_of(headers);
        ASSERT_EQ(producer.produce({topic, key, "with headers", views, fixed_time}),
                  ProduceStatus::accepted);
        key.assign(key.size(), '#');  // the caller reuses its buffers at once
        for (auto& [name, value] : headers) {
            name.assign(name.size(), '#');
            value.assign(value.size(), '#');
        }
        const auto many_views = views_of(many);
        ASSERT_EQ(producer.produce({topic, "", "many headers", many_views}),
                  ProduceStatus::accepted);
        ASSERT_EQ(producer.produce({topic, "", "time only", {}, fixed_time + 1}),
                  ProduceStatus::accepted);
    }
    ASSERT_TRUE(producer.flush(10s));
    ASSERT_EQ(producer.produce({topic, "", "after"}), ProduceStatus::accepted);
    ASSERT_TRUE(producer.flush(10s));
    producer.close(1s);

    const auto with = reports.of("with headers");
    EXPECT_FALSE(with.error.has_value());
    EXPECT_EQ(with.key, "key-1");
    EXPECT_EQ(with.headers, two_headers);
    EXPECT_EQ(with.timestamp_ms, fixed_time);
    EXPECT_EQ(reports.of("many headers").headers, many);
    EXPECT_EQ(reports.of("time only").timestamp_ms, fixed_time + 1);
    EXPECT_TRUE(reports.of("after").headers.empty());
    // Given none, the report has the time librdkafka knows: the mock cluster answers every
    // Produce with a LogAppendTime (1234), which librdkafka reports; a real broker, -1.
    EXPECT_GT(reports.of("after").timestamp_ms, 0);

    const auto records = cluster.read_all(topic, 10s);
    ASSERT_EQ(payloads(records), (std::vector<std::string>{"before", "with headers", "many headers",
                                                           "time only", "after"}));
    const TopicRecord& r = records[1];
    EXPECT_TRUE(r.has_key);
    EXPECT_EQ(r.key, "key-1");
    EXPECT_EQ(r.headers, two_headers) << "in order, the repeated name twice, the NUL kept";
    EXPECT_EQ(r.timestamp_ms, fixed_time);
    EXPECT_EQ(r.partition, 0);
    EXPECT_EQ(r.offset, 1);
    ASSERT_NE(r.header("trace"), nullptr);
    EXPECT_EQ(*r.header("trace"), "abc") << "header() finds the first of a repeated name";
    EXPECT_EQ(r.header("absent"), nullptr);
    EXPECT_EQ(records[2].headers, many);
    EXPECT_EQ(records[3].timestamp_ms, fixed_time + 1);
    EXPECT_TRUE(records[3].headers.empty());
    for (const std::size_t plain : {std::size_t{0}, std::size_t{4}}) {
        EXPECT_FALSE(records[plain].has_key);
        EXPECT_TRUE(records[plain].headers.empty());
        EXPECT_GT(records[plain].timestamp_ms, fixed_time);
    }
}

TEST_P(ProducerMetadataTest, FailedRecordReportsItsHeadersAndTimestamp) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    ClientLog log;
    RdKafkaOptions options = log.options();
    options.produce_on = GetParam();
    RdKafkaProducer producer(test_config(cluster, 10000), options);
    ReportCopies reports;
    reports.attach(producer);
    ASSERT_EQ(producer.produce({topic, "", "warm-up"}), ProduceStatus::accepted);
    ASSERT_TRUE(producer.flush(10s));

    constexpr int topic_authorization_failed = 29;  // not retriable
    cluster.push_produce_errors(1, topic_authorization_failed);
    {
        Headers headers = two_headers;
        const auto views = views_of(headers);
        ASSERT_EQ(producer.produce({topic, "k", "refused by the broker", views, fixed_time}),
                  ProduceStatus::accepted);
        for (auto& [name, value] : headers) value.assign(value.size(), '#');
    }
    ASSERT_TRUE(producer.flush(10s));
    producer.close(1s);

    const auto failed = reports.of("refused by the broker");
    ASSERT_TRUE(failed.error.has_value());
    EXPECT_EQ(failed.error->code, topic_authorization_failed);
    EXPECT_EQ(failed.key, "k");
    EXPECT_EQ(failed.headers, two_headers);
    EXPECT_EQ(failed.timestamp_ms, fixed_time)
        << "librdkafka has none for a failed record; ours is kept";
    EXPECT_EQ(payloads(cluster.read_all(topic, 10s)), std::vector<std::string>{"warm-up"});
}

TEST_P(ProducerMetadataTest, RecordLibrdkafkaRefusesAtOnceReportsItsHeaders) {
    // A topic name librdkafka rejects (longer than 512 bytes): produce accepts the record and
    // the poll thread reports it failed, with its headers and timestamp.
    EmbeddedCluster cluster;
    ClientLog log;
    RdKafkaOptions options = log.options();
    options.produce_on = GetParam();
    RdKafkaProducer producer(test_config(cluster), options);
    ReportCopies reports;
    reports.attach(producer);
    const std::string topic(600, 't');
    {
        Headers headers = two_headers;
        const auto views = views_of(headers);
        ASSERT_EQ(producer.produce({topic, "", "bad topic", views, fixed_time}),
                  ProduceStatus::accepted);
        for (auto& [name, value] : headers) value.assign(value.size(), '#');
    }
    ASSERT_TRUE(producer.flush(10s));
    producer.close(1s);
    const auto failed = reports.of("bad topic");
    ASSERT_TRUE(failed.error.has_value());
    EXPECT_EQ(failed.headers, two_headers);
    EXPECT_EQ(failed.timestamp_ms, fixed_time);
    EXPECT_EQ(producer.in_flight(), 0u);
}

TEST_P(ProducerMetadataTest, EveryReportCarriesItsRecordsTokenBackAndNoneReachesTheTopic) {
    // The token travels in librdkafka's per-message opaque: alone, with a timestamp, with
    // headers, through a ring, on success, a broker's refusal, an immediate refusal and a purge.
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    ClientLog log;
    RdKafkaOptions options = log.options();
    options.produce_on = GetParam();
    RdKafkaProducer producer(test_config(cluster, 10000), options);
    ReportCopies reports;
    reports.attach(producer);
    constexpr std::uint64_t big = (std::uint64_t{1} << 62) - 1;  // the largest token
    const auto views = views_of(two_headers);
    auto message = [&](std::string_view payload, std::uint64_t token, std::int64_t time = 0,
                       std::span<const RecordHeader> headers = {}) {
        MessageView m{topic, "", payload, headers, time};
        m.token = token;
        return m;
    };
    ASSERT_EQ(producer.produce(message("token only", 11)), ProduceStatus::accepted);
    ASSERT_EQ(producer.produce(message("largest token", big)), ProduceStatus::accepted);
    ASSERT_EQ(producer.produce(message("token and time", 12, fixed_time)), ProduceStatus::accepted);
    ASSERT_EQ(producer.produce(message("token and headers", 13, 0, views)),
              ProduceStatus::accepted);
    ASSERT_EQ(producer.produce(message("time only", 0, fixed_time)), ProduceStatus::accepted);
    ASSERT_EQ(producer.produce(message("no token", 0)), ProduceStatus::accepted);
    ASSERT_TRUE(producer.flush(10s));

    constexpr int topic_authorization_failed = 29;  // not retriable
    cluster.push_produce_errors(2, topic_authorization_failed);
    ASSERT_EQ(producer.produce(message("refused, token only", 21)), ProduceStatus::accepted);
    ASSERT_TRUE(producer.flush(10s));
    ASSERT_EQ(producer.produce(message("refused, token and time", 22, fixed_time)),
              ProduceStatus::accepted);
    ASSERT_TRUE(producer.flush(10s));
    ASSERT_EQ(
        producer.produce(MessageView{std::string(600, 't'), "", "bad topic", {}, fixed_time, 23}),
        ProduceStatus::accepted);
    ASSERT_TRUE(producer.flush(10s));

    cluster.set_broker_down(1);
    ASSERT_EQ(producer.produce(message("purged, token only", 31)), ProduceStatus::accepted);
    ASSERT_EQ(producer.produce(message("purged, token and time", 32, fixed_time + 5)),
              ProduceStatus::accepted);
    producer.close(200ms);
    EXPECT_EQ(producer.in_flight(), 0u);

    const std::vector<std::pair<std::string, std::uint64_t>> expected{
        {"token only", 11},
        {"largest token", big},
        {"token and time", 12},
        {"token and headers", 13},
        {"time only", 0},
        {"no token", 0},
        {"refused, token only", 21},
        {"refused, token and time", 22},
        {"bad topic", 23},
        {"purged, token only", 31},
        {"purged, token and time", 32}};
    EXPECT_EQ(reports.entries().size(), expected.size()) << "each record reported once";
    for (const auto& [payload, token] : expected) {
        const auto entry = reports.of(payload);
        EXPECT_EQ(entry.token, token) << payload;
        EXPECT_EQ(entry.error.has_value(), token > 20 && token < 100) << payload;
    }
    EXPECT_EQ(reports.of("token and time").timestamp_ms, fixed_time) << "both travel together";
    EXPECT_EQ(reports.of("refused, token and time").timestamp_ms, fixed_time);
    EXPECT_EQ(reports.of("purged, token and time").timestamp_ms, fixed_time + 5);
    EXPECT_EQ(reports.of("time only").timestamp_ms, fixed_time);

    cluster.set_broker_up(1);
    const auto records = cluster.read_all(topic, 10s);
    // As a set: a record with a timestamp or headers is handed over by the calling thread and
    // may pass ring records.
    EXPECT_THAT(payloads(records),
                ::testing::UnorderedElementsAre("token only", "largest token", "token and time",
                                                "token and headers", "time only", "no token"));
    for (const TopicRecord& r : records)
        EXPECT_EQ(r.headers.size(), r.payload == "token and headers" ? 2u : 0u);
}

INSTANTIATE_TEST_SUITE_P(Modes, ProducerMetadataTest,
                         ::testing::Values(ProduceOn::producer_thread, ProduceOn::calling_thread),
                         [](const ::testing::TestParamInfo<ProduceOn>& mode) {
                             return std::string(mode.param == ProduceOn::producer_thread
                                                    ? "ProducerThread"
                                                    : "CallingThread");
                         });

}  // namespace
}  // namespace kafka_log::test
