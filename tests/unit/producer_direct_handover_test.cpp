// SPDX-License-Identifier: Apache-2.0
// DirectHandover: librdkafka's answers become ProduceStatus: taken, queue full and too large
// at once (counted out, refunded), any other refusal accepted and kept to be reported failed.
// Real librdkafka, offline: records wait in its queue for a broker nobody runs.

#include "../../src/core/producer/direct_handover.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "../support/offline_client.hpp"

namespace kafka_log::detail {
namespace {

/// An offline client and the parts a DirectHandover reports to.
struct Parts : OfflineClient {
    explicit Parts(ProducerConfig user) : OfflineClient(std::move(user)) {}
    ~Parts() { purge_and_serve(); }

    ProduceStatus offer(const MessageView& record) {
        in_flight.count_in(0);  // as produce() does first
        return handover.hand_over(client.get(), topic.get(), record,
                                  [this]() noexcept { ++refunds; });
    }

    TopicPtr topic{rd_kafka_topic_new(client.get(), "direct", nullptr)};
    InFlightCount in_flight;
    RefusedRecords refused;
    DirectHandover handover{refused, in_flight};
    int refunds = 0;
};

TEST(DirectHandoverTest, ATakenRecordIsAcceptedAndStaysInFlight) {
    Parts parts(ProducerConfig{});
    EXPECT_EQ(parts.offer(MessageView{"direct", "k", "plain"}), ProduceStatus::accepted);
    const RecordHeader headers[] = {{"h", "v"}};
    EXPECT_EQ(parts.offer(MessageView{"direct", "", "with metadata", headers, 99, 5}),
              ProduceStatus::accepted);
    EXPECT_EQ(parts.queued(), 2);
    EXPECT_EQ(parts.in_flight.in_flight(), 2u);
    EXPECT_EQ(parts.refunds, 0);
    EXPECT_TRUE(parts.refused.empty());
}

TEST(DirectHandoverTest, AFullQueueIsAnsweredAtOnceAndRefunded) {
    Parts parts(ProducerConfig{{"queue.buffering.max.messages", "1"}});
    ASSERT_EQ(parts.offer(MessageView{"direct", "", "one"}), ProduceStatus::accepted);
    EXPECT_EQ(parts.offer(MessageView{"direct", "", "two"}), ProduceStatus::queue_full);
    EXPECT_EQ(parts.refunds, 1);
    EXPECT_EQ(parts.in_flight.in_flight(), 1u) << "the refused record is counted out";
}

TEST(DirectHandoverTest, ARecordTooLargeIsAnsweredAtOnceAndRefunded) {
    Parts parts(ProducerConfig{{"message.max.bytes", "1000"}});
    EXPECT_EQ(parts.offer(MessageView{"direct", "", std::string(2000, 'x')}),
              ProduceStatus::too_large);
    EXPECT_EQ(parts.refunds, 1);
    EXPECT_EQ(parts.in_flight.in_flight(), 0u);
}

TEST(DirectHandoverTest, AnyOtherRefusalIsAcceptedAndReportedFailedLater) {
    Parts parts(ProducerConfig{});
    ASSERT_EQ(rd_kafka_test_fatal_error(parts.client.get(),
                                        RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                        "a fatal error for the test"),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    MessageView record{"direct", "k", "refused"};
    record.token = 12;
    EXPECT_EQ(parts.offer(record), ProduceStatus::accepted) << "accepted, then one report";
    EXPECT_EQ(parts.refunds, 0) << "its credit returns with its report";
    EXPECT_EQ(parts.in_flight.in_flight(), 1u);
    std::vector<DeliveryReport> seen;
    std::vector<std::string> payloads;
    parts.reports.set_delivery_handler([&](const DeliveryReport& report) {
        seen.push_back(report);
        payloads.emplace_back(report.message.payload);
    });
    parts.refused.report_all(parts.reports);
    ASSERT_EQ(seen.size(), 1u);
    ASSERT_TRUE(seen[0].error);
    EXPECT_EQ(seen[0].error->code, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER)
        << "a failed client's refusal names its fatal error";
    EXPECT_EQ(seen[0].message.token, 12u);
    EXPECT_EQ(payloads[0], "refused");
}

TEST(DirectHandoverTest, OnlyHeadersOrATimestampMakeMetadata) {
    const RecordHeader headers[] = {{"h", "v"}};
    EXPECT_FALSE(DirectHandover::has_metadata(MessageView{"t", "k", "p"}));
    EXPECT_TRUE(DirectHandover::has_metadata(MessageView{"t", "k", "p", headers}));
    EXPECT_TRUE(DirectHandover::has_metadata(MessageView{"t", "k", "p", {}, 5}));
}

}  // namespace
}  // namespace kafka_log::detail
