// SPDX-License-Identifier: Apache-2.0
// The spool's journal (SpoolOptions::journal): every record is in the spool before the producer
// has it, its copy is settled when Kafka confirms it or when it is stored as a fallback record,
// a segment of settled copies goes away by itself, and a process killed with records in flight
// leaves them for the next writer, which replays them flagged possibly duplicate.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kafka_log/kafka_writer.hpp"
#include "kafka_log/mocks/mock_async_producer.hpp"
#include "kafka_log/spool_drain.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "kafka_log/spool_reader.hpp"
#include "spool_support.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

namespace fs = std::filesystem;
using mocks::MockAsyncProducer;
using mocks::MockOptions;
using mocks::ProducedMessage;
using test::Balanced;
using test::TempDir;

using namespace std::chrono_literals;

std::vector<SpoolRecord> spooled(const fs::path& dir) {
    return test::read_spool_records(dir);
}
std::size_t segment_count(const fs::path& dir) {
    return test::spool_segment_count(dir);
}

SpoolOptions journal_on(std::uint64_t segment_bytes = 16u << 20) {
    return SpoolOptions{.segment_bytes = segment_bytes, .replay_rate = 0, .journal = true};
}

TEST(JournalTest, ARecordIsInTheSpoolBeforeTheProducerHasItAndSettledWhenKafkaConfirmsIt) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    auto spool = std::make_shared<SpoolFallback>(dir, journal_on());
    auto producer = std::make_shared<MockAsyncProducer>();
    std::vector<std::size_t> seen_in_spool;  // records the spool held as each input arrived
    producer
        ->expect_input_with_checker_and_succeed([&](const MessageView& m) {
            const std::vector<SpoolRecord> now = spooled(dir);
            seen_in_spool.push_back(now.size());
            return now.size() == 1 && now[0].payload == m.payload && now[0].topic == m.topic &&
                   now[0].key == std::optional<std::string>(std::string(m.key)) &&
                   now[0].reason == FallbackReason::in_flight && now[0].possibly_persisted &&
                   m.token != 0;
        })
        .expect_input_and_hold();
    KafkaWriter writer(producer, spool, WriterOptions{.topic = "logs"});

    writer.write("first", "k1");
    EXPECT_EQ(seen_in_spool, std::vector<std::size_t>{1});
    // Settles reach the segment in batches; flush (or stats, or the spool's thread within
    // 100 ms) applies those waiting.
    ASSERT_TRUE(spool->flush());
    EXPECT_TRUE(spooled(dir).empty()) << "a confirmed record's copy is settled: no replay sends it";

    writer.write("second", "k2");  // held: in flight, its copy open
    ASSERT_TRUE(spool->flush());
    const std::vector<SpoolRecord> open = spooled(dir);
    ASSERT_EQ(open.size(), 1u);
    EXPECT_EQ(open[0].payload, "second");
    EXPECT_EQ(open[0].reason, FallbackReason::in_flight);
    WriterStats s = writer.stats();
    EXPECT_EQ(s.journal_open, 1u);
    EXPECT_EQ(s.in_flight, 1u);
    EXPECT_EQ(s.spooled, 0u) << "a journal copy is not a fallback record";
    EXPECT_TRUE(Balanced(s));

    EXPECT_EQ(producer->release_held(), 1u);
    ASSERT_TRUE(spool->flush());
    EXPECT_TRUE(spooled(dir).empty());
    s = writer.stats();
    EXPECT_EQ(s.delivered, 2u);
    EXPECT_EQ(s.journal_open, 0u);
    EXPECT_TRUE(Balanced(s));
    const SpoolStats ss = spool->stats();
    EXPECT_EQ(ss.journaled, 2u);
    EXPECT_EQ(ss.settled, 2u);
    EXPECT_EQ(ss.records, 0u);
}

TEST(JournalTest, ARecordKafkaDoesNotTakeIsInTheSpoolOnceAsAFallbackRecordWithItsReason) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    auto spool = std::make_shared<SpoolFallback>(dir, journal_on());
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_fail({error_codes::message_timed_out, "timed out", true})
        .expect_input_and_reject(ProduceStatus::queue_full)
        .expect_input_and_reject(ProduceStatus::too_large);
    KafkaWriter writer(producer, spool, WriterOptions{.topic = "logs", .breaker_enabled = false});
    writer.write("timed-out", "a");
    writer.write("queue-full", "b");
    writer.write("too-large", "c");

    ASSERT_TRUE(spool->flush());
    const std::vector<SpoolRecord> held = spooled(dir);
    ASSERT_EQ(held.size(), 3u)
        << "each record once: its journal copy settled, its fallback record kept";
    EXPECT_EQ(held[0].payload, "timed-out");
    EXPECT_EQ(held[0].reason, FallbackReason::delivery_failed);
    EXPECT_TRUE(held[0].possibly_persisted);
    EXPECT_EQ(held[0].error, error_codes::message_timed_out);
    EXPECT_EQ(held[1].payload, "queue-full");
    EXPECT_EQ(held[1].reason, FallbackReason::queue_full);
    EXPECT_FALSE(held[1].possibly_persisted);
    EXPECT_EQ(held[2].payload, "too-large");
    EXPECT_EQ(held[2].reason, FallbackReason::too_large);

    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_delivery_failed + s.fallback_queue_full + s.fallback_too_large, 3u);
    EXPECT_EQ(s.spooled, 3u);
    EXPECT_EQ(s.journal_open, 0u);
    EXPECT_EQ(spool->stats().journaled, 3u);
    EXPECT_EQ(spool->stats().settled, 3u);
}

TEST(JournalTest, SegmentsOfSettledCopiesAreDeletedAsTheyFillAndNothingIsLeftAfterClose) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    auto spool = std::make_shared<SpoolFallback>(dir, journal_on(4096));
    auto producer = std::make_shared<MockAsyncProducer>();
    for (int i = 0; i < 2000; ++i) producer->expect_input_and_succeed();
    {
        KafkaWriter writer(producer, spool, WriterOptions{.topic = "logs"});
        for (int i = 0; i < 2000; ++i)
            writer.write("record number " + std::to_string(i) + std::string(60, '.'));
        // Without the last batch of settles applied, at most a batch's segments are left.
        EXPECT_LE(segment_count(dir), 1u + 64 * 100 / 4096 + 1);
        ASSERT_TRUE(spool->flush());
        EXPECT_LE(segment_count(dir), 1u)
            << "only the current segment: every sealed one held settled copies only";
        EXPECT_GT(spool->stats().journaled, 0u);
        const WriterStats s = writer.stats();
        EXPECT_EQ(s.delivered, 2000u);
        EXPECT_TRUE(Balanced(s));
    }
    EXPECT_EQ(spool->stats().journaled, 2000u);
    EXPECT_EQ(spool->stats().settled, 2000u);
    spool.reset();
    EXPECT_EQ(segment_count(dir), 0u);
}

TEST(JournalTest, ASegmentWithFallbackRecordsAndOpenCopiesGoesOnlyOnceBothAreDone) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    auto spool = std::make_shared<SpoolFallback>(dir, journal_on(4096));
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_hold()
        .expect_input_and_fail({error_codes::message_timed_out, "timed out", false})
        .expect_input_and_fail({error_codes::message_timed_out, "timed out", false});
    for (int i = 0; i < 100; ++i) producer->expect_input_and_succeed();  // the fillers
    KafkaWriter writer(producer, spool, WriterOptions{.topic = "logs", .breaker_enabled = false});
    writer.write("held");
    writer.write("failed-1");
    writer.write("failed-2");
    // Fill the segment with confirmed records until it is sealed.
    const auto first_segment = [&] {
        for (const auto& e : fs::directory_iterator(dir)) {
            if (e.path().filename().string().starts_with("seg-")) return e.path();
        }
        return fs::path();
    }();
    ASSERT_FALSE(first_segment.empty());
    for (int i = 0; i < 100; ++i)
        writer.write("filler " + std::to_string(i) + std::string(60, '.'));
    ASSERT_GE(segment_count(dir), 2u);

    // Replay the fallback records (a drain of its own, on a producer of its own).
    auto replay_producer = std::make_shared<MockAsyncProducer>();
    replay_producer->expect_input_and_succeed().expect_input_and_succeed();  // failed-1, failed-2
    SpoolDrainOptions unbounded;
    unbounded.rate = 0;
    SpoolDrain drain(spool, replay_producer, unbounded);
    replay_producer->set_delivery_handler(
        [&drain](const DeliveryReport& r) { drain.on_report(r); });
    drain.drain_once(1s);
    std::vector<std::string> replayed;
    for (const ProducedMessage& m : replay_producer->produced()) replayed.push_back(m.payload);
    EXPECT_EQ(replayed, (std::vector<std::string>{"failed-1", "failed-2"}))
        << "the held record's copy is with its producer: the drain does not send it";
    EXPECT_TRUE(fs::exists(first_segment)) << "its journal copy is still open";
    EXPECT_EQ(writer.stats().spooled, 0u);

    EXPECT_EQ(producer->release_held(), 1u);
    ASSERT_TRUE(spool->flush());
    EXPECT_FALSE(fs::exists(first_segment)) << "settled, replayed: nothing left in it";
    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.journal_open, 0u);
    replay_producer->close(1s);
}

/// In a child process: a writer with the journal on writes `total` records, of which Kafka
/// confirms the first `confirmed`; the rest stay in flight when the child is SIGKILLed.
void write_then_die(const fs::path& dir, int total, int confirmed) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        auto spool = std::make_shared<SpoolFallback>(dir, journal_on(4096));
        auto producer = std::make_shared<MockAsyncProducer>();
        for (int i = 0; i < total; ++i) {
            if (i < confirmed) {
                producer->expect_input_and_succeed();
            } else {
                producer->expect_input_and_hold();
            }
        }
        auto writer =
            std::make_shared<KafkaWriter>(producer, spool, WriterOptions{.topic = "logs"});
        for (int i = 0; i < total; ++i)
            writer->write("rec-" + std::to_string(i), "key-" + std::to_string(i % 3));
        ::raise(SIGKILL);
        ::_exit(3);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
}

TEST(JournalTest,
     RecordsInFlightWhenTheProcessIsKilledAreReplayedByTheNextWriterFlaggedPossiblyDuplicate) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    constexpr int total = 300;
    constexpr int confirmed = 120;
    write_then_die(dir, total, confirmed);

    // Every unconfirmed record, and at most a batch of confirmed ones whose settle had not
    // reached the segment yet (SpoolFallback applies settles 64 at a time): all flagged.
    const std::vector<SpoolRecord> left = spooled(dir);
    ASSERT_GE(left.size(), static_cast<std::size_t>(total - confirmed));
    ASSERT_LE(left.size(), static_cast<std::size_t>(total - confirmed + 63));
    const int first = total - static_cast<int>(left.size());
    for (std::size_t i = 0; i < left.size(); ++i) {
        EXPECT_EQ(left[i].payload, "rec-" + std::to_string(first + static_cast<int>(i)))
            << "in order, none missing";
        EXPECT_EQ(left[i].reason, FallbackReason::in_flight);
        EXPECT_TRUE(left[i].possibly_persisted);
    }

    // The next writer on the spool sends them back by itself.
    auto producer = std::make_shared<MockAsyncProducer>();
    for (std::size_t i = 0; i < left.size(); ++i) producer->expect_input_and_succeed();
    auto spool = std::make_shared<SpoolFallback>(
        dir, SpoolOptions{.segment_bytes = 4096, .replay_rate = 1e6, .journal = true});
    KafkaWriter writer(producer, spool, WriterOptions{.topic = "logs"});
    ASSERT_TRUE(test::wait_until(
        [&] { return writer.stats().replayed == left.size() && segment_count(dir) == 0; }, 30s))
        << "replayed " << writer.stats().replayed << ", segments " << segment_count(dir);
    const std::vector<ProducedMessage> sent = producer->produced();
    ASSERT_EQ(sent.size(), left.size());
    std::set<std::string> ids;
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const int n = first + static_cast<int>(i);
        EXPECT_EQ(sent[i].payload, "rec-" + std::to_string(n));
        EXPECT_EQ(sent[i].key, "key-" + std::to_string(n % 3));
        EXPECT_EQ(sent[i].topic, "logs");
        std::string flag, id;
        for (const auto& [name, value] : sent[i].headers) {
            if (name == replayed_header) flag = value;
            if (name == replay_id_header) id = value;
        }
        EXPECT_EQ(flag, "possibly-duplicate") << "its process may have delivered it";
        EXPECT_TRUE(ids.insert(id).second) << id;
    }
    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, 0u);
    EXPECT_EQ(s.spooled, 0u);
}

TEST(JournalTest, WithoutRoomForACopyTheRecordStillGoesToKafkaAndTheRefusalIsCounted) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    // Room for no segment at all.
    auto spool = std::make_shared<SpoolFallback>(
        dir,
        SpoolOptions{.max_bytes = 1024, .segment_bytes = 4096, .replay_rate = 0, .journal = true});
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_with_checker_and_succeed(
        [](const MessageView& m) { return m.token == 0; });
    KafkaWriter writer(producer, spool, WriterOptions{.topic = "logs"});
    writer.write("no room for its copy");
    const WriterStats s = writer.stats();
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(spool->stats().journal_refused, 1u);
    EXPECT_EQ(spool->stats().refused_full, 0u) << "not a fallback record refused: nothing was lost";
    EXPECT_EQ(segment_count(dir), 0u);
}

}  // namespace
}  // namespace kafka_log
