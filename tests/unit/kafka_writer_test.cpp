// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/kafka_writer.hpp"

#include <atomic>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kafka_log/mocks/gmock_async_producer.hpp"
#include "kafka_log/mocks/mock_async_producer.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

using mocks::MockAsyncProducer;
using test::Balanced;
using test::split_lines;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using namespace std::chrono_literals;

/// A writer on a scripted mock, with an in-memory fallback.
struct WriterOnMock {
    explicit WriterOnMock(mocks::MockOptions options = {},
                          WriterOptions writer_options = {.topic = "unit-logs"})
        : producer(std::make_shared<MockAsyncProducer>(mocks::gtest_reporter(), options)),
          fallback(std::make_shared<StreamFallback>(fallback_text)),
          writer(producer, fallback, std::move(writer_options)) {}

    std::vector<std::string> fallback_lines() const { return split_lines(fallback_text.str()); }

    std::ostringstream fallback_text;
    std::shared_ptr<MockAsyncProducer> producer;
    std::shared_ptr<StreamFallback> fallback;
    KafkaWriter writer;
};

TEST(KafkaWriterTest, SuccessesNeverReachTheFallback) {
    WriterOnMock t;
    t.producer->expect_input_and_succeed().expect_input_and_succeed().expect_input_and_succeed();
    t.writer.write("a");
    t.writer.write("b", "key-b");
    t.writer.write("c");

    const WriterStats s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, 3u);
    EXPECT_EQ(s.delivered, 3u);
    EXPECT_EQ(s.fallback_total(), 0u);
    EXPECT_THAT(t.fallback_lines(), IsEmpty());
    const auto produced = t.producer->produced();
    ASSERT_EQ(produced.size(), 3u);
    EXPECT_EQ(produced[1].topic, "unit-logs");
    EXPECT_EQ(produced[1].key, "key-b");
    EXPECT_EQ(produced[1].payload, "b");
    EXPECT_TRUE(t.producer->verify());
}

TEST(KafkaWriterTest, QueueFullReachesFallbackBeforeWriteReturns) {
    WriterOnMock t;
    t.producer->expect_input_and_reject(ProduceStatus::queue_full);
    t.writer.write("no room");
    EXPECT_THAT(t.fallback_lines(), ElementsAre("no room"));
    const WriterStats s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_queue_full, 1u);
    EXPECT_EQ(s.in_flight, 0u);
}

TEST(KafkaWriterTest, TooLargeReachesFallbackBeforeWriteReturns) {
    WriterOnMock t;
    t.producer->expect_input_and_reject(ProduceStatus::too_large);
    const std::string big(100000, 'x');
    t.writer.write(big);
    EXPECT_THAT(t.fallback_lines(), ElementsAre(big));
    const WriterStats s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_too_large, 1u);
    EXPECT_EQ(s.in_flight, 0u);
}

TEST(KafkaWriterTest, DeliveryFailuresGoToFallbackAndPossiblyPersistedIsCounted) {
    WriterOnMock t;
    t.producer->expect_input_and_fail({error_codes::message_timed_out, "timed out", false})
        .expect_input_and_fail({error_codes::message_timed_out, "timed out after send", true})
        .expect_input_and_succeed();
    t.writer.write("first");
    t.writer.write("second");
    t.writer.write("third");
    EXPECT_THAT(t.fallback_lines(), ElementsAre("first", "second"));
    const WriterStats s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.fallback_delivery_failed, 2u);
    EXPECT_EQ(s.possibly_persisted, 1u);
}

TEST(KafkaWriterTest, CloseSendsAcceptedButUnreportedRecordsToFallback) {
    WriterOnMock t;
    t.producer->expect_input_and_succeed().expect_input_and_hold().expect_input_and_hold();
    t.writer.write("delivered");
    t.writer.write("held-1");
    t.writer.write("held-2");

    WriterStats s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.in_flight, 2u);
    EXPECT_FALSE(t.writer.flush(0ms)) << "records are still in flight";

    t.writer.close(100ms);
    s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.fallback_closed, 2u);
    EXPECT_THAT(t.fallback_lines(), ElementsAre("held-1", "held-2"));
}

TEST(KafkaWriterTest, FlushReturnsTrueOnceHeldRecordsAreReported) {
    WriterOnMock t;
    t.producer->expect_input_and_hold();
    t.writer.write("held");
    EXPECT_FALSE(t.writer.flush(0ms));
    EXPECT_EQ(t.producer->release_held(), 1u);
    EXPECT_TRUE(t.writer.flush(0ms));
    const WriterStats s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.in_flight, 0u);
}

TEST(KafkaWriterTest, CloseIsIdempotentAndLaterWritesGoToFallback) {
    WriterOnMock t;
    t.writer.close(0ms);
    t.writer.close(0ms);
    t.writer.write("too late");
    EXPECT_THAT(t.fallback_lines(), ElementsAre("too late"));
    EXPECT_THAT(t.producer->produced(), IsEmpty()) << "a closed writer must not produce";
    const WriterStats s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_closed, 1u);
}

TEST(KafkaWriterTest, ProducerReportingClosedSendsRecordToFallback) {
    WriterOnMock t;
    t.producer->expect_input_and_reject(ProduceStatus::closed);
    t.writer.write("closed producer");
    const WriterStats s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_closed, 1u);
    EXPECT_THAT(t.fallback_lines(), ElementsAre("closed producer"));
}

TEST(KafkaWriterTest, DestructorClosesAndPurgesIntoFallback) {
    std::ostringstream text;
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_hold();
    {
        KafkaWriter writer(producer, std::make_shared<StreamFallback>(text),
                           WriterOptions{.topic = "t", .close_timeout = 0ms});
        writer.write("held at destruction");
    }
    EXPECT_THAT(split_lines(text.str()), ElementsAre("held at destruction"));
    const auto produced = producer->produced();
    ASSERT_EQ(produced.size(), 1u);
    ASSERT_TRUE(produced[0].error.has_value());
    EXPECT_EQ(produced[0].error->code, error_codes::purged_queue);
}

TEST(KafkaWriterTest, ProducerCopiesPayloadSoCallersMayReuseTheirBuffer) {
    WriterOnMock t({.threaded = true});
    t.producer->expect_input_and_fail({1, "fail", false}).expect_input_and_succeed();
    std::string buffer = "first record";
    t.writer.write(buffer);
    buffer.assign("XXXXXXXXXXXX");  // reuse at once, as zap-style encoders do
    buffer = "second record";
    t.writer.write(buffer);
    buffer.assign(buffer.size(), '#');
    t.producer->wait_until_idle();
    EXPECT_THAT(t.fallback_lines(), ElementsAre("first record"));
    const auto produced = t.producer->produced();
    ASSERT_EQ(produced.size(), 2u);
    EXPECT_EQ(produced[1].payload, "second record");
    EXPECT_TRUE(Balanced(t.writer.stats()));
}

TEST(KafkaWriterTest, BufferedFallbackThatLaterFailsMovesItsRecordsToLost) {
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_reject(ProduceStatus::queue_full)
        .expect_input_and_reject(ProduceStatus::too_large)
        .expect_input_and_succeed();
    KafkaWriter writer(
        producer,
        std::make_shared<FileFallback>("/dev/full", FileFallbackOptions{.buffer_bytes = 4096}),
        WriterOptions{.topic = "t"});
    writer.write("rejected record");
    writer.write("too large record");
    writer.write("delivered record");
    WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_queue_full, 1u) << "in the fallback's buffer";
    EXPECT_EQ(s.fallback_too_large, 1u);
    EXPECT_EQ(s.lost, 0u);
    ::testing::internal::CaptureStderr();
    EXPECT_FALSE(writer.flush(std::chrono::seconds(1))) << "the buffer cannot reach /dev/full";
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_THAT(err, HasSubstr("rejected record"));
    EXPECT_THAT(err, HasSubstr("too large record"));
    s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.lost, 2u);
    EXPECT_EQ(s.fallback_total(), 0u);
    EXPECT_EQ(s.delivered, 1u);
}

TEST(KafkaWriterTest, WritersSharingABufferedFallbackEachGetTheirOwnLosses) {
    // /dev/full takes nothing: every buffered record is lost when the buffer is written, and
    // each writer must move exactly its own records from their bucket to `lost`.
    auto buffered =
        std::make_shared<FileFallback>("/dev/full", FileFallbackOptions{.buffer_bytes = 4096});
    auto pa = std::make_shared<MockAsyncProducer>();
    auto pb = std::make_shared<MockAsyncProducer>();
    pa->expect_input_and_reject(ProduceStatus::queue_full)
        .expect_input_and_reject(ProduceStatus::queue_full);
    pb->expect_input_and_reject(ProduceStatus::too_large);
    KafkaWriter a(pa, buffered, WriterOptions{.topic = "a"});
    KafkaWriter b(pb, buffered, WriterOptions{.topic = "b"});
    ::testing::internal::CaptureStderr();
    a.write("a1");
    a.write("a2");
    b.write("b1");
    EXPECT_EQ(a.stats().fallback_queue_full, 2u);
    EXPECT_EQ(b.stats().fallback_too_large, 1u);
    EXPECT_FALSE(buffered->flush());
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_THAT(err, HasSubstr("kafka_log[lost]: a1"));
    EXPECT_THAT(err, HasSubstr("kafka_log[lost]: b1"));
    const WriterStats sa = a.stats(), sb = b.stats();
    EXPECT_TRUE(test::Balanced(sa));
    EXPECT_TRUE(test::Balanced(sb));
    EXPECT_EQ(sa.lost, 2u);
    EXPECT_EQ(sa.fallback_total(), 0u);
    EXPECT_EQ(sb.lost, 1u);
    EXPECT_EQ(sb.fallback_total(), 0u);
}

TEST(KafkaWriterTest, FailingFileFallbackCountsLostAndWritesRecordToStderr) {
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_reject(ProduceStatus::queue_full)
        .expect_input_and_fail({error_codes::message_timed_out, "timed out", true})
        .expect_input_and_succeed();
    KafkaWriter writer(producer, std::make_shared<FileFallback>("/dev/full"),
                       WriterOptions{.topic = "t"});
    ::testing::internal::CaptureStderr();
    writer.write("rejected record");
    writer.write("failed record");
    writer.write("delivered record");
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_THAT(err, HasSubstr("rejected record"));
    EXPECT_THAT(err, HasSubstr("failed record"));
    EXPECT_THAT(err, ::testing::Not(HasSubstr("delivered record")));
    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.lost, 2u);
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.possibly_persisted, 1u);
    EXPECT_EQ(s.fallback_total(), 0u);
}

TEST(KafkaWriterTest, FailedStreamFallbackCountsLost) {
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_reject(ProduceStatus::too_large);
    // A stream that fails even after clear(): no buffer.
    std::ostream no_buffer(nullptr);
    KafkaWriter writer(producer, std::make_shared<StreamFallback>(no_buffer),
                       WriterOptions{.topic = "t"});
    ::testing::internal::CaptureStderr();
    writer.write("nowhere but stderr");
    EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("nowhere but stderr"));
    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.lost, 1u);
}

TEST(KafkaWriterTest, ProducerThatThrowsDoesNotCostTheRecord) {
    auto producer = std::make_shared<::testing::NiceMock<mocks::GMockAsyncProducer>>();
    EXPECT_CALL(*producer, produce).WillOnce(::testing::Throw(std::runtime_error("boom")));
    std::ostringstream text;
    KafkaWriter writer(producer, std::make_shared<StreamFallback>(text),
                       WriterOptions{.topic = "t"});
    writer.write("survives a throwing producer");
    EXPECT_THAT(split_lines(text.str()), ElementsAre("survives a throwing producer"));
    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_queue_full, 1u);
}

TEST(KafkaWriterTest, OptInQueueFullWaitRetriesUntilAccepted) {
    auto producer = std::make_shared<::testing::StrictMock<mocks::GMockAsyncProducer>>();
    DeliveryHandler handler;
    EXPECT_CALL(*producer, set_delivery_handler).WillOnce(::testing::SaveArg<0>(&handler));
    EXPECT_CALL(*producer, produce)
        .WillOnce(::testing::Return(ProduceStatus::queue_full))
        .WillOnce(::testing::Return(ProduceStatus::queue_full))
        .WillOnce([&](const MessageView& m) {
            handler(DeliveryReport{m, std::nullopt});
            return ProduceStatus::accepted;
        });
    EXPECT_CALL(*producer, close);
    std::ostringstream text;
    KafkaWriter writer(producer, std::make_shared<StreamFallback>(text),
                       WriterOptions{.topic = "t", .queue_full_max_wait = 10s});
    writer.write("waited for room");
    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_THAT(text.str(), IsEmpty());
}

TEST(KafkaWriterTest, RejectsNullArgumentsAndEmptyTopic) {
    auto producer = std::make_shared<MockAsyncProducer>();
    std::ostringstream text;
    auto fallback = std::make_shared<StreamFallback>(text);
    EXPECT_THROW(KafkaWriter(nullptr, fallback, WriterOptions{.topic = "t"}),
                 std::invalid_argument);
    EXPECT_THROW(KafkaWriter(producer, nullptr, WriterOptions{.topic = "t"}),
                 std::invalid_argument);
    try {
        KafkaWriter writer(producer, fallback, WriterOptions{});
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(), HasSubstr("topic"));
    }
}

TEST(KafkaWriterTest, StatsSnapshotsBalanceWhileThreadsWriteAndReportsArrive) {
    WriterOnMock t({.threaded = true});
    constexpr int threads = 4;
    constexpr int per_thread = 5000;
    for (int i = 0; i < threads * per_thread; ++i) {
        switch (i % 4) {
            case 0:
                t.producer->expect_input_and_succeed();
                break;
            case 1:
                t.producer->expect_input_and_fail({2, "broker said no", i % 8 == 1});
                break;
            case 2:
                t.producer->expect_input_and_reject(ProduceStatus::queue_full);
                break;
            default:
                t.producer->expect_input_and_succeed();
                break;
        }
    }
    std::atomic<bool> done{false};
    std::uint64_t snapshots = 0;
    std::uint64_t unbalanced = 0;
    std::thread reader([&] {
        std::uint64_t last_submitted = 0;
        while (!done.load()) {
            const WriterStats s = t.writer.stats();
            ++snapshots;
            if (!s.balanced()) ++unbalanced;
            EXPECT_GE(s.submitted, last_submitted);
            last_submitted = s.submitted;
        }
    });
    std::vector<std::thread> writers;
    for (int w = 0; w < threads; ++w) {
        writers.emplace_back([&, w] {
            for (int i = 0; i < per_thread; ++i)
                t.writer.write("w" + std::to_string(w) + "-" + std::to_string(i));
        });
    }
    for (auto& w : writers) w.join();
    t.producer->wait_until_idle();
    done = true;
    reader.join();

    EXPECT_GT(snapshots, 0u);
    EXPECT_EQ(unbalanced, 0u) << "of " << snapshots << " snapshots";
    const WriterStats s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(threads * per_thread));
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(threads * per_thread / 2));
    EXPECT_EQ(s.fallback_delivery_failed, static_cast<std::uint64_t>(threads * per_thread / 4));
    EXPECT_EQ(s.fallback_queue_full, static_cast<std::uint64_t>(threads * per_thread / 4));
    EXPECT_EQ(s.possibly_persisted, static_cast<std::uint64_t>(threads * per_thread / 8));
    EXPECT_EQ(t.fallback_lines().size(), s.fallback_total());
}

// --- the breaker ------------------------------------------------------------------------

WriterOptions quick_breaker() {
    return WriterOptions{.topic = "unit-logs", .breaker_backoff = 1ms, .breaker_max_backoff = 4ms};
}

TEST(KafkaWriterBreakerTest, UnreachableClusterSendsNewRecordsStraightToFallback) {
    WriterOnMock t;
    t.producer->set_cluster_state(ClusterState::unreachable);
    EXPECT_TRUE(t.writer.breaker_open());
    t.writer.write("while unreachable");
    EXPECT_THAT(t.producer->produced(), IsEmpty()) << "not queued in the producer";
    EXPECT_THAT(t.fallback_lines(), ElementsAre("while unreachable"));

    t.producer->set_cluster_state(ClusterState::reachable);
    EXPECT_FALSE(t.writer.breaker_open());
    t.producer->expect_input_and_succeed();
    t.writer.write("reachable again");
    const WriterStats s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_unreachable, 1u);
    EXPECT_EQ(s.delivered, 1u);
}

TEST(KafkaWriterBreakerTest, ProbeAfterBackoffClosesTheBreakerWhenDelivered) {
    WriterOnMock t({}, quick_breaker());
    t.producer->expect_input_and_hold();
    t.producer->set_cluster_state(ClusterState::unreachable);
    int written = 0;
    // Keep logging until the back-off has passed and one record went out as the probe.
    ASSERT_TRUE(test::wait_until([&] {
        t.writer.write("r" + std::to_string(written++));
        return !t.producer->produced().empty();
    }));
    t.writer.write("while the probe is out");
    EXPECT_EQ(t.producer->produced().size(), 1u) << "one probe at a time";
    EXPECT_TRUE(t.writer.breaker_open());

    EXPECT_EQ(t.producer->release_held(), 1u);  // the probe is delivered
    EXPECT_FALSE(t.writer.breaker_open());
    t.producer->expect_input_and_succeed();
    t.writer.write("after recovery");

    const WriterStats s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, 2u);
    EXPECT_EQ(s.fallback_unreachable,
              static_cast<std::uint64_t>(written));  // all but the probe, plus one
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(written) + 2);
}

TEST(KafkaWriterBreakerTest, FailedProbeReopensTheBreaker) {
    WriterOnMock t({}, quick_breaker());
    t.producer->expect_input_and_fail({error_codes::message_timed_out, "timed out", false});
    t.producer->set_cluster_state(ClusterState::unreachable);
    ASSERT_TRUE(test::wait_until([&] {
        t.writer.write("r");
        return !t.producer->produced().empty();
    }));
    EXPECT_TRUE(t.writer.breaker_open()) << "the probe failed: open again";
    t.writer.write("right after the failed probe");
    EXPECT_EQ(t.producer->produced().size(), 1u);
    const WriterStats s = t.writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_delivery_failed, 1u);
    EXPECT_EQ(s.delivered, 0u);
    EXPECT_EQ(s.fallback_unreachable + 1, s.submitted);
}

TEST(KafkaWriterBreakerTest, DisabledBreakerIgnoresClusterState) {
    WriterOnMock t({}, WriterOptions{.topic = "unit-logs", .breaker_enabled = false});
    t.producer->set_cluster_state(ClusterState::unreachable);
    EXPECT_FALSE(t.writer.breaker_open());
    t.producer->expect_input_and_succeed();
    t.writer.write("produced anyway");
    EXPECT_EQ(t.writer.stats().delivered, 1u);
}

TEST(KafkaWriterBreakerTest, InvalidBackoffIsRejected) {
    auto producer = std::make_shared<MockAsyncProducer>();
    std::ostringstream text;
    EXPECT_THROW(KafkaWriter(producer, std::make_shared<StreamFallback>(text),
                             WriterOptions{.topic = "t", .breaker_backoff = 0ms}),
                 std::invalid_argument);
}

}  // namespace
}  // namespace kafka_log
