// SPDX-License-Identifier: Apache-2.0
// prometheus_text: the writers' stats in the text exposition format, read back by a strict
// parser; values equal the stats, label values are escaped, bad labels are refused by name.

#include "kafka_log/prometheus.hpp"

#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kafka_log/mocks/mock_async_producer.hpp"
#include "kafka_log/writer_registry.hpp"
#include "prometheus_parse.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

using test::parse_prometheus;
using ::testing::HasSubstr;

WriterStats sample_stats(std::uint64_t base) {
    WriterStats s;
    s.delivered = base + 10;
    s.in_flight = base + 2;
    s.lost = base + 1;
    s.fallback_queue_full = base + 3;
    s.fallback_too_large = base + 4;
    s.fallback_delivery_failed = base + 5;
    s.fallback_closed = base + 6;
    s.fallback_unreachable = base + 7;
    s.fallback_reentrant = base + 8;
    s.submitted = s.delivered + s.fallback_total() + s.lost + s.in_flight;
    s.possibly_persisted = 2;
    s.spooled = base + 20;
    s.spool_bytes = 16 << 20;
    s.replayed = base + 21;
    s.replay_failures = base + 22;
    s.replayed_possibly_duplicate = base + 24;
    s.journal_open = base + 23;
    s.breaker_open = base % 2 == 1;
    s.client.reports = base + 30;
    s.client.malformed_reports = 1;
    s.client.callback_failures = 2;
    s.client.queue_records = base + 31;
    s.client.queue_bytes = base + 32;
    s.client.broker_rtt_avg_us = 1500;
    s.client.broker_rtt_p99_us = 2'000'042;
    s.client.delivered_without_offset = base + 33;
    return s;
}

TEST(PrometheusTextTest, EveryFamilyOnceWithHelpTypeAndTheStatsValues) {
    const std::vector<WriterMetrics> writers{{"app", sample_stats(100), {}},
                                             {"audit", sample_stats(1), {{"topic", "audit-logs"}}}};
    const std::string text = prometheus_text(writers, {.labels = {{"service", "billing"}}});
    const test::PromScrape scrape = parse_prometheus(text);  // throws naming a bad line

    for (const auto& [family, type] : scrape.type) {
        EXPECT_EQ(family.rfind("kafka_log_", 0), 0u) << family;
        EXPECT_EQ(type == "counter", family.ends_with("_total")) << family << " " << type;
        EXPECT_FALSE(scrape.help.at(family).empty()) << family;
    }
    EXPECT_EQ(scrape.type.size(), 21u);
    for (const auto& writer : writers) {
        const WriterStats& s = writer.stats;
        const std::map<std::string, std::string> w{{"writer", writer.name}};
        const auto value = [&](const std::string& name, std::map<std::string, std::string> l = {}) {
            l.insert(w.begin(), w.end());
            return scrape.one("kafka_log_" + name, l).value;
        };
        EXPECT_EQ(value("records_submitted_total"), s.submitted);
        EXPECT_EQ(value("records_delivered_total"), s.delivered);
        EXPECT_EQ(value("records_lost_total"), s.lost);
        EXPECT_EQ(value("records_in_flight"), s.in_flight);
        EXPECT_EQ(value("records_possibly_persisted_total"), s.possibly_persisted);
        EXPECT_EQ(value("records_fallback_total", {{"reason", "queue_full"}}),
                  s.fallback_queue_full);
        EXPECT_EQ(value("records_fallback_total", {{"reason", "too_large"}}), s.fallback_too_large);
        EXPECT_EQ(value("records_fallback_total", {{"reason", "delivery_failed"}}),
                  s.fallback_delivery_failed);
        EXPECT_EQ(value("records_fallback_total", {{"reason", "closed"}}), s.fallback_closed);
        EXPECT_EQ(value("records_fallback_total", {{"reason", "unreachable"}}),
                  s.fallback_unreachable);
        EXPECT_EQ(value("records_fallback_total", {{"reason", "reentrant"}}), s.fallback_reentrant);
        EXPECT_EQ(value("breaker_open"), s.breaker_open ? 1 : 0);
        EXPECT_EQ(value("spool_records"), s.spooled);
        EXPECT_EQ(value("spool_bytes"), s.spool_bytes);
        EXPECT_EQ(value("spool_replayed_total"), s.replayed);
        EXPECT_EQ(value("spool_replay_failures_total"), s.replay_failures);
        EXPECT_EQ(value("spool_replayed_possibly_duplicate_total"), s.replayed_possibly_duplicate);
        EXPECT_EQ(value("spool_journal_open_records"), s.journal_open);
        EXPECT_EQ(value("producer_queue_records"), s.client.queue_records);
        EXPECT_EQ(value("producer_queue_bytes"), s.client.queue_bytes);
        EXPECT_EQ(value("producer_delivered_without_offset_total"),
                  s.client.delivered_without_offset);
        EXPECT_EQ(scrape.one("kafka_log_broker_rtt_avg_seconds", w).text, "0.001500");
        EXPECT_EQ(scrape.one("kafka_log_broker_rtt_p99_seconds", w).text, "2.000042");
        EXPECT_EQ(value("client_statistics_total"), s.client.reports);
        EXPECT_EQ(value("client_statistics_malformed_total"), s.client.malformed_reports);
        EXPECT_EQ(value("client_statistics_callback_failures_total"), s.client.callback_failures);

        // The identity, from the scrape alone.
        double fallback = 0;
        for (const auto& sample : scrape.samples) {
            if (sample.name == "kafka_log_records_fallback_total" &&
                sample.labels.at("writer") == writer.name) {
                fallback += sample.value;
            }
        }
        EXPECT_EQ(value("records_submitted_total"), value("records_delivered_total") + fallback +
                                                        value("records_lost_total") +
                                                        value("records_in_flight"));
    }
    for (const auto& sample : scrape.samples) {
        EXPECT_EQ(sample.labels.at("service"), "billing") << sample.name;
        EXPECT_EQ(sample.labels.count("topic"), sample.labels.at("writer") == "audit" ? 1u : 0u);
    }
    EXPECT_THAT(text, HasSubstr("kafka_log_records_in_flight{writer=\"audit\",topic=\"audit-logs\","
                                "service=\"billing\"} 3\n"))
        << "labels in the documented order";
}

TEST(PrometheusTextTest, LabelValuesAreEscaped) {
    const std::string odd = "a\\b\"c\nd{e}=,f";
    const std::vector<WriterMetrics> writers{{odd, WriterStats{}, {{"path", "C:\\logs\n"}}}};
    const std::string text = prometheus_text(writers, {.prefix = "svc", .labels = {}});
    EXPECT_THAT(text, HasSubstr(R"(svc_records_submitted_total{writer="a\\b\"c\nd{e}=,f",)"
                                R"(path="C:\\logs\n"} 0)"));
    const auto scrape = parse_prometheus(text);
    EXPECT_EQ(scrape.one("svc_records_lost_total").labels.at("writer"), odd);
    EXPECT_EQ(scrape.one("svc_records_lost_total").labels.at("path"), "C:\\logs\n");
}

TEST(PrometheusTextTest, NoWritersGivesTheFamiliesWithoutSamples) {
    const auto scrape = parse_prometheus(prometheus_text(std::vector<WriterMetrics>{}));
    EXPECT_EQ(scrape.type.size(), 21u);
    EXPECT_TRUE(scrape.samples.empty());
}

TEST(PrometheusTextTest, BadLabelsAndPrefixesAreRefusedByName) {
    const auto error_of = [](const std::vector<WriterMetrics>& writers,
                             const PrometheusOptions& options) -> std::string {
        try {
            prometheus_text(writers, options);
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "no error";
    };
    const std::vector<WriterMetrics> one{{"app", {}, {}}};
    EXPECT_THAT(error_of(one, {.labels = {{"9lives", "x"}}}),
                HasSubstr("constant label '9lives': not a label name"));
    EXPECT_THAT(error_of(one, {.labels = {{"__meta", "x"}}}), HasSubstr("'__meta'"));
    EXPECT_THAT(error_of(one, {.labels = {{"a-b", "x"}}}), HasSubstr("'a-b'"));
    EXPECT_THAT(error_of(one, {.labels = {{"writer", "x"}}}), HasSubstr("'writer': reserved"));
    EXPECT_THAT(error_of({{"app", {}, {{"reason", "x"}}}}, {}),
                HasSubstr("writer 'app' label 'reason': reserved"));
    EXPECT_THAT(error_of({{"app", {}, {{"env", "a"}}}}, {.labels = {{"env", "b"}}}),
                HasSubstr("label 'env': given twice"));
    EXPECT_THAT(error_of({{"app", {}, {}}, {"app", {}, {}}}, {}),
                HasSubstr("writer 'app' is given twice"));
    EXPECT_THAT(error_of(one, {.prefix = "my-app", .labels = {}}), HasSubstr("prefix 'my-app'"));
    EXPECT_EQ(error_of({{"app", {}, {{"env", "a"}}}, {"app", {}, {{"env", "b"}}}}, {}), "no error")
        << "same name, different labels: distinct series";
}

TEST(WriterRegistryTest, FindsLiveWritersByNameAndForgetsDestroyedOnes) {
    std::ostringstream fallback_text;
    auto make_writer = [&](std::shared_ptr<mocks::MockAsyncProducer> producer = nullptr) {
        if (!producer) producer = std::make_shared<mocks::MockAsyncProducer>();
        return std::make_shared<KafkaWriter>(producer,
                                             std::make_shared<StreamFallback>(fallback_text),
                                             WriterOptions{.topic = "registry-logs"});
    };
    auto producer = std::make_shared<mocks::MockAsyncProducer>();
    producer->expect_input_and_succeed();
    auto writer = make_writer(producer);
    register_writer("registry-test", writer);
    EXPECT_EQ(find_writer("registry-test"), writer);
    EXPECT_EQ(find_writer("registry-test-other"), nullptr);
    try {
        register_writer("registry-test", make_writer());
        ADD_FAILURE() << "a duplicate name was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(), HasSubstr("'registry-test' is already registered"));
    }
    EXPECT_THROW(register_writer("", writer), std::invalid_argument);
    EXPECT_THROW(register_writer("registry-null", nullptr), std::invalid_argument);

    writer->write("one");
    bool listed = false;
    for (const WriterMetrics& m : registered_writer_metrics()) {
        if (m.name != "registry-test") continue;
        listed = true;
        EXPECT_EQ(m.stats.submitted, 1u);
        EXPECT_EQ(m.stats.delivered, 1u);
        EXPECT_TRUE(m.stats.balanced());
    }
    EXPECT_TRUE(listed);

    writer.reset();  // destroyed: the registry does not keep it alive
    EXPECT_EQ(find_writer("registry-test"), nullptr);
    auto again = make_writer();
    register_writer("registry-test", again);  // the name is free again
    EXPECT_EQ(find_writer("registry-test"), again);
    EXPECT_TRUE(unregister_writer("registry-test"));
    EXPECT_FALSE(unregister_writer("registry-test"));
    EXPECT_EQ(find_writer("registry-test"), nullptr);
}

}  // namespace
}  // namespace kafka_log
