// SPDX-License-Identifier: Apache-2.0
// The two ProduceOn routes. CallingThreadRoute hands a record over at once; ProducerThreadRoute
// answers too_large and queue_full on the calling thread, queues plain records for the poll
// thread's turn (serve_once, which serves reports after every round of batches), queues records
// with headers or a timestamp in their place too, gives credit back with served reports, and
// reports what is left purged when closing. Real librdkafka, offline.

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
            std::string detail = std::string(report.message.payload) + " @" +
                                 std::to_string(report.message.timestamp_ms) + " #" +
                                 std::to_string(report.message.token);
            for (const RecordHeader& h : report.message.headers)
                detail += " " + std::string(h.name) + "=" + std::string(h.value);
            details.push_back(detail);
        });
    }
    ProducerThreadRoute::Shared for_route() { return {client, handover, in_flight, reports}; }

    std::vector<std::string> reported;
    std::vector<std::string> details;  // payload @timestamp #token name=value...
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

TEST(ProducerThreadRouteTest, ServesReportsAfterEveryRoundNotOnlyOnceTheRingsRunDry) {
    Shared shared(ProducerConfig{});
    ProducerThreadRoute route(shared.for_route(), shared.client.limits(), 1024);
    constexpr int records = 2 * static_cast<int>(HandoffBatches::batch_max) + 88;
    for (int i = 0; i < records; ++i)
        ASSERT_EQ(offer(shared, route, MessageView{"logs", "", "r"}), ProduceStatus::accepted);
    int settled = 0;
    route.serve_once([&]() noexcept { ++settled; });
    EXPECT_EQ(shared.queued(), records);
    EXPECT_EQ(settled, 3) << "one round per batch of the ring: 256, 256 and 88 records";
    shared.purge_and_serve();
    EXPECT_EQ(shared.reported.size(), static_cast<std::size_t>(records));
}

TEST(ProducerThreadRouteTest, QueuesARecordWithMetadataInItsPlaceWithItsHeadersAndTimestamp) {
    Shared shared(ProducerConfig{});
    ProducerThreadRoute route(shared.for_route(), shared.client.limits(), 64);
    const std::string nul_value("a\0b", 3);
    const RecordHeader headers[] = {{"h", "v"}, {"empty", ""}, {"nul", nul_value}};
    ASSERT_EQ(offer(shared, route, MessageView{"logs", "", "r0"}), ProduceStatus::accepted);
    ASSERT_EQ(offer(shared, route, MessageView{"logs", "k", "meta", headers, 1'700'000'000'123, 7}),
              ProduceStatus::accepted);
    ASSERT_EQ(offer(shared, route, MessageView{"logs", "", "stamped", {}, 1'700'000'000'456, 8}),
              ProduceStatus::accepted);
    ASSERT_EQ(offer(shared, route, MessageView{"logs", "", "r3"}), ProduceStatus::accepted);
    EXPECT_EQ(shared.queued(), 0) << "in the ring, behind and ahead of plain records";
    route.serve_once([]() noexcept {});
    EXPECT_EQ(shared.queued(), 4);
    // Purged, each report gives back what produce() was given, in the thread's order.
    shared.purge_and_serve();
    ASSERT_EQ(shared.details.size(), 4u);
    EXPECT_EQ(shared.details[0].substr(0, 3), "r0 ");
    EXPECT_EQ(shared.details[1], "meta @1700000000123 #7 h=v empty= nul=" + nul_value);
    EXPECT_EQ(shared.details[2], "stamped @1700000000456 #8");
    EXPECT_EQ(shared.details[3].substr(0, 3), "r3 ");
}

TEST(ProducerThreadRouteTest, CountsHeadersAgainstTheRecordSizeLimit) {
    Shared shared(ProducerConfig{{"message.max.bytes", "1000"}});
    ProducerThreadRoute route(shared.for_route(), shared.client.limits(), 64);
    const std::string big(450, 'v');
    const RecordHeader two[] = {{"a", big}, {"b", big}};
    EXPECT_EQ(offer(shared, route, MessageView{"logs", "", std::string(100, 'x'), two}),
              ProduceStatus::too_large)
        << "two headers of 451 bytes and 100 of payload";
    const RecordHeader one[] = {{"a", big}};
    EXPECT_EQ(offer(shared, route, MessageView{"logs", "", std::string(100, 'x'), one}),
              ProduceStatus::accepted);
    shared.purge_and_serve();
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
