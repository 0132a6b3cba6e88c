// SPDX-License-Identifier: Apache-2.0
// The two ProduceOn routes. CallingThreadRoute hands a record over at once; ProducerThreadRoute
// answers too_large and queue_full on the calling thread, queues plain records for the poll
// thread's turn (serve_once), hands records with metadata over at once, gives credit back with
// served reports, and reports what is left purged when closing. Real librdkafka, offline.

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "../../src/core/producer/calling_thread_route.hpp"
#include "../../src/core/producer/producer_thread_route.hpp"
#include "../../src/core/producer/refused_records.hpp"
#include "../support/offline_client.hpp"

namespace kafka_log::detail {
namespace {

/// An offline client and the parts a route shares with the producer.
struct Shared : OfflineClient {
    explicit Shared(ProducerConfig user) : OfflineClient(std::move(user)) {
        reports.set_delivery_handler([this](const DeliveryReport& report) {
            reported.push_back(std::string(report.message.payload) + (report.error ? "!" : ""));
        });
    }
    ProducerThreadRoute::Shared for_route() { return {client, handover, in_flight, reports}; }

    std::vector<std::string> reported;
    InFlightCount in_flight;
    RefusedRecords refused;
    DirectHandover handover{refused, in_flight};
};

template <typename Route>
ProduceStatus offer(Shared& shared, Route& route, const MessageView& record,
                    std::size_t stripe = 0) {
    shared.in_flight.count_in(stripe);  // as produce() does first
    return route.produce(stripe, record);
}

TEST(CallingThreadRouteTest, HandsARecordOverAtOnce) {
    Shared shared(ProducerConfig{});
    CallingThreadRoute route(shared.client, shared.handover);
    EXPECT_EQ(offer(shared, route, MessageView{"logs", "", "now"}), ProduceStatus::accepted);
    EXPECT_EQ(shared.queued(), 1);
    int settled = 0;
    rd_kafka_yield(shared.client.get());  // so the turn does not wait its full 100 ms
    route.serve_once([&]() noexcept { ++settled; });
    EXPECT_EQ(settled, 1);
}

TEST(ProducerThreadRouteTest, QueuesPlainRecordsForThePollThreadsTurn) {
    Shared shared(ProducerConfig{});
    ProducerThreadRoute route(shared.for_route(), shared.client.limits(), 64);
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(offer(shared, route, MessageView{"logs", "", "r" + std::to_string(i)}, i % 2),
                  ProduceStatus::accepted);
    }
    EXPECT_EQ(shared.queued(), 0) << "in the rings until the poll thread's turn";
    int settled = 0;
    route.serve_once([&]() noexcept { ++settled; });
    EXPECT_EQ(shared.queued(), 10);
    EXPECT_GE(settled, 1);
    EXPECT_EQ(shared.in_flight.in_flight(), 10u) << "in flight until reported";
}

TEST(ProducerThreadRouteTest, HandsARecordWithMetadataOverAtOnce) {
    Shared shared(ProducerConfig{});
    ProducerThreadRoute route(shared.for_route(), shared.client.limits(), 64);
    const RecordHeader headers[] = {{"h", "v"}};
    EXPECT_EQ(offer(shared, route, MessageView{"logs", "", "meta", headers}),
              ProduceStatus::accepted);
    EXPECT_EQ(shared.queued(), 1);
}

TEST(ProducerThreadRouteTest, AnswersTooLargeOnTheCallingThread) {
    Shared shared(ProducerConfig{{"message.max.bytes", "1000"}});
    ProducerThreadRoute route(shared.for_route(), shared.client.limits(), 64);
    EXPECT_EQ(offer(shared, route, MessageView{"logs", "", std::string(990, 'x')}),
              ProduceStatus::too_large)
        << "payload plus the record's worst-case overhead";
    EXPECT_EQ(offer(shared, route, MessageView{"logs", "", std::string(900, 'x')}),
              ProduceStatus::accepted);
    EXPECT_EQ(shared.in_flight.in_flight(), 1u);
}

TEST(ProducerThreadRouteTest, AnswersQueueFullAtTheBoundAndTakesMoreOnceReportsAreServed) {
    Shared shared(ProducerConfig{{"queue.buffering.max.messages", "3"}});
    ProducerThreadRoute route(shared.for_route(), shared.client.limits(), 64);
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(offer(shared, route, MessageView{"logs", "", "r"}, i), ProduceStatus::accepted);
    EXPECT_EQ(offer(shared, route, MessageView{"logs", "", "r"}, 4), ProduceStatus::queue_full);
    EXPECT_EQ(shared.in_flight.in_flight(), 3u);
    route.return_credit(DeliveryReports::Served{1, 1});  // one report served
    EXPECT_EQ(offer(shared, route, MessageView{"logs", "", "r"}, 4), ProduceStatus::accepted);
}

TEST(ProducerThreadRouteTest, ReportsWhatIsLeftPurgedWhenClosing) {
    Shared shared(ProducerConfig{});
    ProducerThreadRoute route(shared.for_route(), shared.client.limits(), 64);
    ASSERT_EQ(offer(shared, route, MessageView{"logs", "", "late"}), ProduceStatus::accepted);
    route.purge_from_now();
    route.stop_retrying();
    route.report_leftovers_purged();
    EXPECT_EQ(shared.reported, (std::vector<std::string>{"late!"}));
    EXPECT_EQ(shared.queued(), 0);
    EXPECT_EQ(shared.reports.take_served().records, 1u);
}

TEST(ProducerThreadRouteTest, AFullRingIsEmptiedByTheLoggingThreadInOrder) {
    Shared shared(ProducerConfig{});
    ProducerThreadRoute route(shared.for_route(), shared.client.limits(), 4);
    for (int i = 0; i < 9; ++i) {
        ASSERT_EQ(offer(shared, route, MessageView{"logs", "", "r" + std::to_string(i)}),
                  ProduceStatus::accepted);
    }
    EXPECT_EQ(shared.queued(), 8) << "two full rings' worth handed over by the logging thread";
    route.serve_once([]() noexcept {});
    EXPECT_EQ(shared.queued(), 9);
}

}  // namespace
}  // namespace kafka_log::detail
