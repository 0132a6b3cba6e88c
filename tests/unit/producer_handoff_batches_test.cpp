// SPDX-License-Identifier: Apache-2.0
// HandoffBatches: a ring's oldest records of one topic go to librdkafka in one batch; after
// purge_from_now() they are reported purged; a ring another thread is taking from is passed
// over; a logging thread's help makes room; a record librdkafka finds no room for is reported
// failed once retries stop. Real librdkafka, offline.

#include "../../src/core/producer/handoff_batches.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../support/offline_client.hpp"

namespace kafka_log::detail {
namespace {

using Ring = HandoffBatches::Ring;

/// An offline client, two topics, a ring and the batches that empty it.
struct Parts : OfflineClient {
    explicit Parts(ProducerConfig user = {}) : OfflineClient(std::move(user)) {
        reports.set_delivery_handler([this](const DeliveryReport& report) {
            failures.push_back(std::string(report.message.payload) + "#" +
                               std::to_string(report.message.token) +
                               (report.error ? "!" + std::to_string(report.error->code) : ""));
        });
    }

    void push(rd_kafka_topic_t* topic, const std::string& payload, std::uint64_t token = 0) {
        ASSERT_TRUE(ring.try_push(HandoffTag{topic, token}, payload, ""));
    }

    std::vector<std::string> failures;
    TopicPtr a{rd_kafka_topic_new(client.get(), "a", nullptr)};
    TopicPtr b{rd_kafka_topic_new(client.get(), "b", nullptr)};
    Ring ring{16};
    HandoffBatches batches{client, reports};
};

TEST(HandoffBatchesTest, SendsTheOldestRecordsOfOneTopicAsABatch) {
    Parts parts;
    parts.push(parts.a.get(), "a1");
    parts.push(parts.a.get(), "a2");
    parts.push(parts.a.get(), "a3");
    parts.push(parts.b.get(), "b1");
    parts.push(parts.b.get(), "b2");
    HandoffBatches::Outcome outcome = parts.batches.send_batch(parts.ring, false, false);
    EXPECT_EQ(outcome.taken, 3u) << "a batch stops where the topic changes";
    EXPECT_FALSE(outcome.passed_busy);
    EXPECT_EQ(parts.queued(), 3);
    outcome = parts.batches.send_batch(parts.ring, false, false);
    EXPECT_EQ(outcome.taken, 2u);
    EXPECT_EQ(parts.queued(), 5);
    EXPECT_TRUE(parts.ring.empty());
    EXPECT_EQ(parts.batches.send_batch(parts.ring, false, false).taken, 0u);
    EXPECT_TRUE(parts.failures.empty());
    EXPECT_EQ(parts.reports.take_served().records, 0u) << "sent records are reported by librdkafka";
}

TEST(HandoffBatchesTest, AfterPurgeFromNowBatchesAreReportedPurged) {
    Parts parts;
    parts.push(parts.a.get(), "x", 4);
    parts.push(parts.a.get(), "y", 5);
    parts.batches.purge_from_now();
    EXPECT_TRUE(parts.batches.purging());
    EXPECT_EQ(parts.batches.send_batch(parts.ring, false, false).taken, 2u);
    EXPECT_EQ(parts.queued(), 0);
    const std::string purged = "!" + std::to_string(RD_KAFKA_RESP_ERR__PURGE_QUEUE);
    EXPECT_EQ(parts.failures, (std::vector<std::string>{"x#4" + purged, "y#5" + purged}));
    const DeliveryReports::Served served = parts.reports.take_served();
    EXPECT_EQ(served.records, 2u);
    EXPECT_EQ(served.bytes, 2u);
}

TEST(HandoffBatchesTest, ARecordWithHeadersGoesAloneInItsPlaceAndAFailedOneKeepsThem) {
    Parts parts(ProducerConfig{{"queue.buffering.max.messages", "4"}});
    std::vector<std::string> seen;
    parts.reports.set_delivery_handler([&seen](const DeliveryReport& report) {
        std::string line = std::string(report.message.payload) + " @" +
                           std::to_string(report.message.timestamp_ms);
        for (const RecordHeader& h : report.message.headers)
            line += " " + std::string(h.name) + "=" + std::string(h.value);
        seen.push_back(line);
    });
    const RecordHeader headers[] = {{"h", "v"}};
    parts.push(parts.a.get(), "a1");
    ASSERT_TRUE(parts.ring.try_push(HandoffTag{parts.a.get(), 0}, "meta", "", headers, 42));
    parts.push(parts.a.get(), "a2");
    parts.push(parts.a.get(), "a3");
    EXPECT_EQ(parts.batches.send_batch(parts.ring, false, false).taken, 1u) << "a batch ends there";
    EXPECT_EQ(parts.batches.send_batch(parts.ring, false, false).taken, 1u) << "the record alone";
    EXPECT_EQ(parts.queued(), 2);
    EXPECT_EQ(parts.batches.send_batch(parts.ring, false, false).taken, 2u);
    EXPECT_EQ(parts.queued(), 4);
    // No room in librdkafka's queue, and no retries: the record with headers is reported failed
    // with its headers and its timestamp (what the fallback keeps).
    ASSERT_TRUE(parts.ring.try_push(HandoffTag{parts.a.get(), 0}, "late", "", headers, 43));
    parts.batches.stop_retrying();
    EXPECT_EQ(parts.batches.send_batch(parts.ring, false, false).taken, 1u);
    EXPECT_EQ(seen, (std::vector<std::string>{"late @43 h=v"}));
    EXPECT_TRUE(parts.ring.empty());
    // A logging thread's help takes a record with headers alone too.
    parts.purge_and_serve();
    seen.clear();
    ASSERT_TRUE(parts.ring.try_push(HandoffTag{parts.a.get(), 0}, "helped", "", headers, 44));
    EXPECT_TRUE(parts.batches.help_send(parts.ring));
    EXPECT_TRUE(parts.ring.empty());
    EXPECT_EQ(parts.queued(), 1);
    parts.purge_and_serve();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0], "helped @44 h=v");
}

TEST(HandoffBatchesTest, ARingAnotherThreadTakesFromIsPassedOver) {
    Parts parts;
    parts.push(parts.a.get(), "r");
    ASSERT_TRUE(parts.ring.try_lock_consumer());
    const HandoffBatches::Outcome outcome = parts.batches.send_batch(parts.ring, false, false);
    EXPECT_EQ(outcome.taken, 0u);
    EXPECT_TRUE(outcome.passed_busy);
    parts.ring.unlock_consumer();
    EXPECT_EQ(parts.batches.send_batch(parts.ring, false, true).taken, 1u);
}

TEST(HandoffBatchesTest, HelpSendMakesRoomOldestFirst) {
    Parts parts;
    for (int i = 0; i < 16; ++i) parts.push(parts.a.get(), "r" + std::to_string(i));
    ASSERT_FALSE(parts.ring.try_push(HandoffTag{parts.a.get(), 0}, "full", ""));
    EXPECT_TRUE(parts.batches.help_send(parts.ring));
    EXPECT_TRUE(parts.ring.empty());
    EXPECT_EQ(parts.queued(), 16);
    parts.push(parts.a.get(), "after");
    parts.batches.purge_from_now();
    EXPECT_FALSE(parts.batches.help_send(parts.ring)) << "no help while purging";
}

TEST(HandoffBatchesTest, ARecordWithNoRoomIsReportedFailedOnceRetriesStop) {
    Parts parts(ProducerConfig{{"queue.buffering.max.messages", "2"}});
    parts.push(parts.a.get(), "1");
    parts.push(parts.a.get(), "2");
    parts.push(parts.a.get(), "3", 9);
    parts.batches.stop_retrying();
    EXPECT_EQ(parts.batches.send_batch(parts.ring, false, false).taken, 3u);
    EXPECT_EQ(parts.queued(), 2);
    EXPECT_EQ(parts.failures,
              (std::vector<std::string>{"3#9!" + std::to_string(RD_KAFKA_RESP_ERR__PURGE_QUEUE)}));
    EXPECT_TRUE(parts.ring.empty());
}

TEST(HandoffBatchesTest, HelpSendLeavesRecordsLibrdkafkaRefusedForTheConsumer) {
    Parts parts(ProducerConfig{{"queue.buffering.max.messages", "2"}});
    parts.push(parts.a.get(), "1");
    parts.push(parts.a.get(), "2");
    parts.push(parts.a.get(), "3", 9);
    EXPECT_TRUE(parts.batches.help_send(parts.ring)) << "two taken";
    EXPECT_FALSE(parts.ring.empty()) << "the refused one stays";
    EXPECT_TRUE(parts.failures.empty()) << "reports are the consumer's";
    parts.batches.stop_retrying();
    EXPECT_EQ(parts.batches.send_batch(parts.ring, false, false).taken, 1u);
    EXPECT_EQ(parts.failures.size(), 1u);
    EXPECT_EQ(parts.queued(), 2);
}

// A record retried for a full queue whose client then fails with a fatal error (an idempotent
// producer's) goes to the new client made for it, not to the fallback with librdkafka's `_FATAL`.
TEST(HandoffBatchesTest, ARecordRetriedForAFullQueueGoesToTheNewClientWhenItsClientFails) {
    Parts parts(ProducerConfig{{"queue.buffering.max.messages", "2"}});
    rd_kafka_t* const first = parts.client.get();
    parts.push(parts.a.get(), "1");
    parts.push(parts.a.get(), "2");
    parts.push(parts.a.get(), "3", 9);
    // Once the batch put 1 and 2 into the first client, 3 is retried there until it fails.
    std::thread fail([&] {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (records_in_librdkafka(first) < 2 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::yield();
        rd_kafka_test_fatal_error(first, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                  "a fatal error while retrying");
    });
    EXPECT_EQ(parts.batches.send_batch(parts.ring, false, false).taken, 3u);
    fail.join();
    EXPECT_EQ(parts.client.recreations(), 1u);
    ASSERT_NE(parts.client.get(), first);
    EXPECT_EQ(records_in_librdkafka(parts.client.get()), 1) << "3 is in the new client";
    for (const std::string& failure : parts.failures)
        EXPECT_NE(failure.rfind("3#", 0), 0u) << "3 was reported failed: " << failure;
    parts.client.for_each_client([](rd_kafka_t* rk) {
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (rd_kafka_outq_len(rk) > 0 && std::chrono::steady_clock::now() < deadline)
            rd_kafka_poll(rk, 10);
    });
    EXPECT_EQ(parts.failures.size(), 3u) << "each record reported once, when purged";
}

}  // namespace
}  // namespace kafka_log::detail
