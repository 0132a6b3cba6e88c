// SPDX-License-Identifier: Apache-2.0
// RefusedRecords: a refused record is kept as a copy (the caller's buffers may go) and
// reported failed once, oldest first, with its headers, timestamp, token and reason.

#include "../../src/core/producer/refused_records.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../src/core/producer/delivery_reports.hpp"

namespace kafka_log::detail {
namespace {

struct Seen {
    std::string topic, key, payload;
    std::vector<std::pair<std::string, std::string>> headers;
    std::int64_t timestamp_ms;
    std::uint64_t token;
    std::optional<DeliveryError> error;
};

TEST(RefusedRecordsTest, ReportsACopyOfEachRecordFailedOldestFirst) {
    RefusedRecords refused;
    EXPECT_TRUE(refused.empty());
    {
        std::string topic = "logs", key = "k", payload = "first";
        std::string name = "h", value = std::string("v\0x", 3);
        const RecordHeader headers[] = {{name, value}};
        MessageView record{topic, key, payload, headers, 1234, 77};
        refused.keep(record, DeliveryError{17, "unknown topic", false});
        topic.assign("XXXX");
        payload.assign("XXXXX");
        value.assign("XXX");
    }
    refused.keep(MessageView{"logs", "", "second"}, DeliveryError{18, "fatal", false});
    EXPECT_FALSE(refused.empty());

    DeliveryReports reports;
    std::vector<Seen> seen;
    reports.set_delivery_handler([&](const DeliveryReport& report) {
        Seen s{std::string(report.message.topic),
               std::string(report.message.key),
               std::string(report.message.payload),
               {},
               report.message.timestamp_ms,
               report.message.token,
               report.error};
        for (const RecordHeader& h : report.message.headers)
            s.headers.emplace_back(h.name, h.value);
        seen.push_back(std::move(s));
    });
    refused.report_all(reports);
    EXPECT_TRUE(refused.empty());
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].topic, "logs");
    EXPECT_EQ(seen[0].key, "k");
    EXPECT_EQ(seen[0].payload, "first");
    ASSERT_EQ(seen[0].headers.size(), 1u);
    EXPECT_EQ(seen[0].headers[0].second, std::string("v\0x", 3));
    EXPECT_EQ(seen[0].timestamp_ms, 1234);
    EXPECT_EQ(seen[0].token, 77u);
    ASSERT_TRUE(seen[0].error);
    EXPECT_EQ(seen[0].error->code, 17);
    EXPECT_EQ(seen[0].error->reason, "unknown topic");
    EXPECT_EQ(seen[1].payload, "second");
    ASSERT_TRUE(seen[1].error);
    EXPECT_EQ(seen[1].error->code, 18);
    EXPECT_EQ(reports.take_served().records, 2u) << "each report counted served";

    refused.report_all(reports);
    EXPECT_EQ(seen.size(), 2u) << "reported once";
}

}  // namespace
}  // namespace kafka_log::detail
