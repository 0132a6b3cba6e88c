// SPDX-License-Identifier: Apache-2.0
// CallbackBridge: librdkafka's delivery reports become DeliveryReports with the record's
// headers, timestamp and token restored, on success and on failure; "all brokers down", log
// lines and client errors reach their receivers; a delivery without an offset (an implicit
// acknowledgement) is counted. Real librdkafka, offline (EmbeddedCluster or
// an address nobody listens on).

#include "../../src/core/producer/callback_bridge.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "../../src/core/producer/client_diagnostics.hpp"
#include "../../src/core/producer/client_handle.hpp"
#include "../../src/core/producer/delivery_reports.hpp"
#include "../../src/core/producer/report_fields.hpp"
#include "kafka_log/testing/embedded_cluster.hpp"

namespace kafka_log::detail {
namespace {

using namespace std::chrono_literals;

struct Report {
    std::string topic, key, payload;
    std::vector<std::pair<std::string, std::string>> headers;
    std::int64_t timestamp_ms = 0;
    std::uint64_t token = 0;
    std::optional<DeliveryError> error;
    std::int64_t offset = -1;
};

/// A librdkafka client whose callbacks go through a CallbackBridge; the test thread polls.
struct BridgedClient {
    explicit BridgedClient(const ProducerConfig& user)
        : config(effective_config(user)),
          diagnostics([this](int, std::string_view facility,
                             std::string_view) { log_facilities.emplace_back(facility); },
                      [this](int code, std::string_view) { error_codes.push_back(code); }, config) {
        reports.set_delivery_handler([this](const DeliveryReport& r) {
            Report copy{std::string(r.message.topic),
                        std::string(r.message.key),
                        std::string(r.message.payload),
                        {},
                        r.message.timestamp_ms,
                        r.message.token,
                        r.error,
                        r.offset};
            for (const RecordHeader& h : r.message.headers)
                copy.headers.emplace_back(h.name, h.value);
            seen.push_back(std::move(copy));
        });
    }

    bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            rd_kafka_poll(handle.get(), 50);
        }
        return true;
    }

    rd_kafka_resp_err_t produce(rd_kafka_topic_t* topic, std::string_view payload,
                                std::int64_t timestamp_ms, std::uint64_t token,
                                rd_kafka_headers_t* headers = nullptr) {
        return rd_kafka_producev(
            handle.get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
            RD_KAFKA_V_KEY("k", 1), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_TIMESTAMP(timestamp_ms),
            RD_KAFKA_V_OPAQUE(ReportFields::pack(timestamp_ms, token)), RD_KAFKA_V_END);
    }

    const ProducerConfig config;
    std::vector<std::string> log_facilities;
    std::vector<int> error_codes;
    std::vector<Report> seen;
    DeliveryReports reports;
    ClientDiagnostics diagnostics;
    CallbackBridge bridge{reports, diagnostics};
    ClientHandle handle{config, bridge};
};

TEST(CallbackBridgeTest, ADeliveredRecordIsReportedWithItsHeadersTimestampAndToken) {
    EmbeddedCluster cluster;
    cluster.create_topic("bridge");
    BridgedClient client(ProducerConfig{{"bootstrap.servers", cluster.bootstrap_servers()}});
    TopicPtr topic(rd_kafka_topic_new(client.handle.get(), "bridge", nullptr));
    rd_kafka_headers_t* headers = rd_kafka_headers_new(2);
    rd_kafka_header_add(headers, "a", 1, "x\0y", 3);
    rd_kafka_header_add(headers, "b", 1, "", 0);
    ASSERT_EQ(client.produce(topic.get(), "first", 1'700'000'000'000, 41, headers),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(client.produce(topic.get(), "second", 0, 42), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_TRUE(client.poll_until([&] { return client.seen.size() == 2; }));

    const Report& first = client.seen[0];
    EXPECT_FALSE(first.error);
    EXPECT_EQ(first.topic, "bridge");
    EXPECT_EQ(first.key, "k");
    EXPECT_EQ(first.payload, "first");
    EXPECT_EQ(first.headers, (std::vector<std::pair<std::string, std::string>>{
                                 {"a", std::string("x\0y", 3)}, {"b", ""}}));
    EXPECT_EQ(first.timestamp_ms, 1'700'000'000'000);
    EXPECT_EQ(first.token, 41u);
    EXPECT_EQ(first.offset, 0);
    const Report& second = client.seen[1];
    EXPECT_FALSE(second.error);
    EXPECT_GT(second.timestamp_ms, 0) << "librdkafka's own clock";
    EXPECT_EQ(second.token, 42u);
    EXPECT_EQ(second.offset, 1);
    EXPECT_EQ(client.reports.take_served().records, 2u);
    EXPECT_EQ(client.reports.delivered_without_offset(), 0u);
    EXPECT_FALSE(client.reports.cluster_unreachable());
}

TEST(CallbackBridgeTest, AFailedRecordIsReportedWithTheTimestampItWasGiven) {
    BridgedClient client(ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"}});
    TopicPtr topic(rd_kafka_topic_new(client.handle.get(), "nowhere", nullptr));
    ASSERT_EQ(client.produce(topic.get(), "lost", 1234, 7), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_purge(client.handle.get(), RD_KAFKA_PURGE_F_QUEUE),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_TRUE(client.poll_until([&] { return client.seen.size() == 1; }));
    const Report& report = client.seen[0];
    ASSERT_TRUE(report.error);
    EXPECT_EQ(report.error->code, RD_KAFKA_RESP_ERR__PURGE_QUEUE);
    EXPECT_FALSE(report.error->reason.empty());
    EXPECT_FALSE(report.error->possibly_persisted);
    EXPECT_EQ(report.payload, "lost");
    EXPECT_EQ(report.timestamp_ms, 1234);
    EXPECT_EQ(report.token, 7u);
}

// librdkafka's implicit acknowledgement, against the embedded cluster, which does not check
// sequence numbers: the first request of the partition is refused with a retriable error, the
// second (in flight at the same time: one record per request) succeeds, and librdkafka reports
// the first record delivered too, without an offset. Kafka would have refused the second
// request; the mock wrote it and never the first record. The report says so (offset -1) and is
// counted, which is how the soak tells this apart from a loss of kafka_log's.
TEST(CallbackBridgeTest, AnImplicitAcknowledgementIsReportedAndCountedWithoutAnOffset) {
    EmbeddedCluster cluster;
    cluster.create_topic("implicit");
    // Both requests in flight when the first is answered, however busy the machine: the two
    // records wait out the linger together, and answers come 300 ms after their request.
    BridgedClient client(ProducerConfig{{"bootstrap.servers", cluster.bootstrap_servers()},
                                        {"linger.ms", "100"},
                                        {"batch.num.messages", "1"},
                                        {"retry.backoff.ms", "10"}});
    TopicPtr topic(rd_kafka_topic_new(client.handle.get(), "implicit", nullptr));
    ASSERT_EQ(client.produce(topic.get(), "warm-up", 0, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_TRUE(client.poll_until([&] { return client.seen.size() == 1; }));
    ASSERT_EQ(client.seen[0].offset, 0) << "the producer id is known, the partition's leader too";

    cluster.set_broker_rtt(1, 300);
    cluster.push_produce_errors(1, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    ASSERT_EQ(client.produce(topic.get(), "refused", 0, 2), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(client.produce(topic.get(), "written", 0, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_TRUE(client.poll_until([&] { return client.seen.size() == 3; }));

    std::map<std::string, std::int64_t> offset_of;
    for (const Report& r : client.seen) {
        EXPECT_FALSE(r.error) << r.payload;
        offset_of[r.payload] = r.offset;
    }
    EXPECT_EQ(offset_of.at("refused"), -1) << "confirmed by the later request's success";
    EXPECT_EQ(offset_of.at("written"), 1);
    EXPECT_EQ(client.reports.delivered_without_offset(), 1u);
    // What the cluster holds: the record confirmed without an offset is not there.
    std::vector<std::string> on_topic;
    for (const TopicRecord& r : cluster.read_all("implicit", 30s)) on_topic.push_back(r.payload);
    EXPECT_EQ(on_topic, (std::vector<std::string>{"warm-up", "written"}));
}

TEST(CallbackBridgeTest, AllBrokersDownLogLinesAndErrorsReachTheirReceivers) {
    BridgedClient client(
        ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"}, {"reconnect.backoff.ms", "10"}});
    std::vector<ClusterState> states;
    client.reports.set_cluster_state_handler([&](ClusterState state) { states.push_back(state); });
    ASSERT_TRUE(client.poll_until(
        [&] { return client.reports.cluster_unreachable() && !client.log_facilities.empty(); }));
    EXPECT_EQ(states.front(), ClusterState::unreachable);
    EXPECT_NE(std::find(client.error_codes.begin(), client.error_codes.end(),
                        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN),
              client.error_codes.end());
}

}  // namespace
}  // namespace kafka_log::detail
