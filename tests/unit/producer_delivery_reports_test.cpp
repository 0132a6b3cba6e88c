// SPDX-License-Identifier: Apache-2.0
// DeliveryReports: each report reaches the delivery handler once and is counted served (a
// throwing handler included), and cluster state changes reach the state handler, a late one
// included; a delivery without an offset is counted.

#include "../../src/core/producer/delivery_reports.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace kafka_log::detail {
namespace {

TEST(DeliveryReportsTest, HandsEachReportToTheHandlerAndCountsItServed) {
    DeliveryReports reports;
    std::vector<std::string> seen;
    reports.set_delivery_handler([&](const DeliveryReport& report) {
        seen.push_back(std::string(report.message.payload) +
                       (report.error ? ":" + report.error->reason : ""));
    });
    MessageView ok{"topic", "key", "hello"};
    ok.token = 9;
    reports.deliver(ok, std::nullopt);
    reports.deliver(MessageView{"topic", "", "abc"}, DeliveryError{-1, "gone", false});
    EXPECT_EQ(seen, (std::vector<std::string>{"hello", "abc:gone"}));
    const DeliveryReports::Served served = reports.take_served();
    EXPECT_EQ(served.records, 2u);
    EXPECT_EQ(served.bytes, 8u);
    EXPECT_EQ(reports.take_served().records, 0u) << "taken once";
}

TEST(DeliveryReportsTest, HandsTheOffsetOnAndCountsDeliveriesWithoutOne) {
    DeliveryReports reports;
    std::vector<std::int64_t> offsets;
    reports.set_delivery_handler(
        [&](const DeliveryReport& report) { offsets.push_back(report.offset); });
    reports.deliver(MessageView{"topic", "", "a"}, std::nullopt, 41);
    reports.deliver(MessageView{"topic", "", "b"}, std::nullopt);      // delivered, no offset
    reports.deliver(MessageView{"topic", "", "c"}, std::nullopt, -1);  // the same
    reports.deliver(MessageView{"topic", "", "d"}, DeliveryError{-1, "gone", false});
    EXPECT_EQ(offsets, (std::vector<std::int64_t>{41, -1, -1, -1}));
    EXPECT_EQ(reports.delivered_without_offset(), 2u) << "a failure has no offset: not counted";
    EXPECT_EQ(reports.take_served().records, 4u);
}

TEST(DeliveryReportsTest, AReportIsCountedServedWithoutAHandlerOrWhenItThrows) {
    DeliveryReports reports;
    reports.deliver(MessageView{"t", "", "12345"}, std::nullopt);
    reports.set_delivery_handler(
        [](const DeliveryReport&) { throw std::runtime_error("handler bug"); });
    reports.deliver(MessageView{"t", "", "123"}, std::nullopt);
    reports.count_unreported(2);
    const DeliveryReports::Served served = reports.take_served();
    EXPECT_EQ(served.records, 3u);
    EXPECT_EQ(served.bytes, 10u);
}

TEST(DeliveryReportsTest, ClusterStateChangesReachTheStateHandler) {
    DeliveryReports reports;
    std::vector<ClusterState> states;
    reports.set_cluster_state_handler([&](ClusterState state) { states.push_back(state); });
    EXPECT_FALSE(reports.cluster_unreachable());
    reports.record_delivered();  // reachable already: no change
    reports.all_brokers_down();
    EXPECT_TRUE(reports.cluster_unreachable());
    reports.record_delivered();
    reports.record_delivered();
    EXPECT_FALSE(reports.cluster_unreachable());
    EXPECT_EQ(states,
              (std::vector<ClusterState>{ClusterState::unreachable, ClusterState::reachable}));
}

TEST(DeliveryReportsTest, AHandlerInstalledWhileUnreachableLearnsItAtOnce) {
    DeliveryReports reports;
    reports.all_brokers_down();
    std::vector<ClusterState> states;
    reports.set_cluster_state_handler([&](ClusterState state) { states.push_back(state); });
    EXPECT_EQ(states, (std::vector<ClusterState>{ClusterState::unreachable}));
}

}  // namespace
}  // namespace kafka_log::detail
