// SPDX-License-Identifier: Apache-2.0
// SpoolDrain: what the spool holds goes back to Kafka whole, with the replay headers; a record
// is marked in place as it goes, a segment is deleted only once all of it is confirmed, and a
// failed or unanswered send stays in the spool.
#include "kafka_log/spool_drain.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kafka_log/kafka_writer.hpp"
#include "kafka_log/mocks/mock_async_producer.hpp"
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

std::vector<SpoolRecord> read_all_records(const fs::path& dir, SpoolReadStats* stats = nullptr) {
    return test::read_spool_records(dir, stats);
}
std::size_t segment_count(const fs::path& dir) {
    return test::spool_segment_count(dir);
}

/// Options of a drain that sends as fast as the producer takes.
SpoolDrainOptions unbounded() {
    SpoolDrainOptions options;
    options.rate = 0;
    return options;
}

std::string header_of(const ProducedMessage& m, const std::string& name) {
    for (const auto& [n, v] : m.headers) {
        if (n == name) return v;
    }
    return "<none>";
}

/// A spool left by an earlier process: `count` records, every third with a key, every fifth
/// flagged possibly persisted, each with a header and a timestamp of its own.
std::vector<SpoolRecord> leave_spool(const fs::path& dir, int count,
                                     std::uint64_t segment_bytes = 4096) {
    {
        SpoolFallback spool(dir, SpoolOptions{.segment_bytes = segment_bytes, .replay_rate = 0});
        for (int i = 0; i < count; ++i) {
            const std::string payload = "left-" + std::to_string(i) + std::string(i % 7, '\n');
            const std::string key = i % 3 == 0 ? "key-" + std::to_string(i) : "";
            const std::string trace = "trace-" + std::to_string(i);
            const RecordHeader headers[] = {{"trace", trace}};
            EXPECT_TRUE(spool.write(FallbackRecord{.topic = i % 2 == 0 ? "even" : "odd",
                                                   .key = key,
                                                   .headers = headers,
                                                   .payload = payload,
                                                   .reason = FallbackReason::unreachable,
                                                   .possibly_persisted = i % 5 == 0,
                                                   .timestamp_ms = 1'700'000'000'000 + i}));
        }
    }
    return read_all_records(dir);
}

TEST(SpoolDrainTest, AWriterReplaysWhatAnEarlierProcessLeftWholeAndDeletesTheSegments) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    constexpr int total = 300;
    const std::vector<SpoolRecord> left = leave_spool(dir, total);
    ASSERT_EQ(left.size(), static_cast<std::size_t>(total));
    ASSERT_GT(segment_count(dir), 3u);

    auto producer = std::make_shared<MockAsyncProducer>();
    for (std::size_t i = 0; i < left.size(); ++i) producer->expect_input_and_succeed();
    auto spool = std::make_shared<SpoolFallback>(
        dir, SpoolOptions{.segment_bytes = 4096, .replay_rate = 1e6});
    KafkaWriter writer(producer, spool, WriterOptions{.topic = "live"});
    ASSERT_TRUE(test::wait_until(
        [&] { return writer.stats().replayed == total && segment_count(dir) == 0; }, 30s))
        << "replayed " << writer.stats().replayed << ", segments left " << segment_count(dir);

    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, 0u) << "replayed records are not this writer's submissions";
    EXPECT_EQ(s.spooled, 0u);
    EXPECT_EQ(s.replay_failures, 0u);
    EXPECT_EQ(s.replayed_possibly_duplicate, static_cast<std::uint64_t>(total / 5))
        << "the records spooled possibly persisted went back flagged";
    EXPECT_EQ(spool->stats().found, static_cast<std::uint64_t>(total));
    EXPECT_TRUE(read_all_records(dir).empty());

    // Every record once, in spool order, with everything it had and the two replay headers.
    const std::vector<ProducedMessage> sent = producer->produced();
    ASSERT_EQ(sent.size(), left.size());
    std::set<std::string> ids;
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const SpoolRecord& want = left[i];
        const ProducedMessage& got = sent[i];
        EXPECT_EQ(got.topic, want.topic) << i;
        EXPECT_EQ(got.key, want.key.value_or("")) << i;
        EXPECT_EQ(got.payload, want.payload) << i;
        EXPECT_EQ(got.timestamp_ms, want.timestamp_ms) << i;
        ASSERT_EQ(got.headers.size(), 3u) << i;
        EXPECT_EQ(got.headers[0],
                  (std::pair<std::string, std::string>{"trace", "trace-" + std::to_string(i)}));
        EXPECT_EQ(header_of(got, "kafka_log.id"), want.id) << i;
        EXPECT_EQ(header_of(got, "kafka_log.replayed"), i % 5 == 0 ? "possibly-duplicate" : "1")
            << i;
        ids.insert(header_of(got, "kafka_log.id"));
    }
    EXPECT_EQ(ids.size(), left.size());
}

TEST(SpoolDrainTest, ARecordThatFailsStaysInTheSpoolAndTheNextPassSendsTheRest) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    const std::vector<SpoolRecord> left = leave_spool(dir, 10, 1 << 20);  // one segment
    auto producer = std::make_shared<MockAsyncProducer>();
    auto spool = std::make_shared<SpoolFallback>(dir, SpoolOptions{.replay_rate = 0});
    SpoolDrain drain(spool, producer, unbounded());
    producer->set_delivery_handler(
        [&drain](const DeliveryReport& r) { EXPECT_TRUE(drain.on_report(r)); });

    // Three confirmed, the fourth fails: the pass stops there.
    producer->expect_input_and_succeed()
        .expect_input_and_succeed()
        .expect_input_and_succeed()
        .expect_input_and_fail(DeliveryError{error_codes::message_timed_out, "timed out", false});
    EXPECT_FALSE(drain.drain_once(1s));
    EXPECT_EQ(drain.stats().replayed, 3u);
    EXPECT_EQ(drain.stats().failures, 1u);
    EXPECT_EQ(segment_count(dir), 1u) << "a segment goes only once all of it is on Kafka";
    SpoolReadStats read_stats;
    const auto remaining = read_all_records(dir, &read_stats);
    EXPECT_EQ(read_stats.replayed, 3u);
    ASSERT_EQ(remaining.size(), 7u);
    EXPECT_EQ(remaining[0].id, left[3].id) << "the failed record is held again";
    EXPECT_FALSE(remaining[0].replay_unconfirmed);
    EXPECT_EQ(spool->stats().held, 7u);

    // The next pass sends the seven left, and the segment goes.
    for (int i = 0; i < 7; ++i) producer->expect_input_and_succeed();
    EXPECT_TRUE(drain.drain_once(1s));
    EXPECT_EQ(drain.stats().replayed, 10u);
    EXPECT_EQ(drain.stats().segments_deleted, 1u);
    EXPECT_EQ(segment_count(dir), 0u);
    EXPECT_EQ(spool->stats().held, 0u);
    const auto sent = producer->produced();
    ASSERT_EQ(sent.size(), 11u) << "3 + the failed one + 7: the failed one twice, nothing else";
    EXPECT_EQ(header_of(sent[3], "kafka_log.id"), header_of(sent[4], "kafka_log.id"));
    producer->close(1s);
}

TEST(SpoolDrainTest, ARecordSentWithoutAnAnswerIsSentAgainFlaggedPossiblyDuplicate) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    const fs::path after_kill = tmp / "after-kill";
    leave_spool(dir, 4, 1 << 20);
    {
        auto producer = std::make_shared<MockAsyncProducer>();
        auto spool = std::make_shared<SpoolFallback>(dir, SpoolOptions{.replay_rate = 0});
        auto drain = std::make_shared<SpoolDrain>(spool, producer, unbounded());
        std::weak_ptr<SpoolDrain> weak = drain;
        producer->set_delivery_handler([weak](const DeliveryReport& r) {
            if (auto d = weak.lock()) d->on_report(r);
        });
        // Two confirmed, two sent and never answered; then the process "dies": its spool is
        // copied as it is on disk at that moment.
        producer->expect_input_and_succeed()
            .expect_input_and_succeed()
            .expect_input_and_hold()
            .expect_input_and_hold();
        EXPECT_FALSE(drain->drain_once(0ms));
        EXPECT_EQ(drain->stats().in_flight, 2u);
        fs::create_directories(after_kill);
        for (const auto& e : fs::directory_iterator(dir)) {
            if (e.path().filename().string().starts_with("seg-"))
                fs::copy_file(e.path(), after_kill / e.path().filename());
        }
        drain.reset();
        producer->close(1s);  // purges the held ones: no drain left to hear it
    }
    const auto left = read_all_records(after_kill);
    ASSERT_EQ(left.size(), 2u) << "the confirmed two are not sent again";
    for (const auto& r : left) {
        EXPECT_TRUE(r.replay_unconfirmed);
        EXPECT_TRUE(r.possibly_persisted);
    }
    auto producer = std::make_shared<MockAsyncProducer>();
    auto spool = std::make_shared<SpoolFallback>(after_kill, SpoolOptions{.replay_rate = 0});
    SpoolDrain drain(spool, producer, unbounded());
    producer->set_delivery_handler([&drain](const DeliveryReport& r) { drain.on_report(r); });
    producer->expect_input_and_succeed().expect_input_and_succeed();
    EXPECT_TRUE(drain.drain_once(1s));
    const auto sent = producer->produced();
    ASSERT_EQ(sent.size(), 2u);
    for (std::size_t i = 0; i < sent.size(); ++i) {
        EXPECT_EQ(header_of(sent[i], "kafka_log.id"), left[i].id);
        EXPECT_EQ(header_of(sent[i], "kafka_log.replayed"), "possibly-duplicate");
    }
    EXPECT_EQ(segment_count(after_kill), 0u);
    producer->close(1s);
}

TEST(SpoolDrainTest, ARecordThatMayBeOnKafkaStaysFlaggedAfterASendThatNeverLeft) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    {
        SpoolFallback spool(dir, SpoolOptions{.replay_rate = 0});
        ASSERT_TRUE(spool.write(FallbackRecord{.topic = "t",
                                               .payload = "the only record",
                                               .reason = FallbackReason::unreachable,
                                               .possibly_persisted = false,
                                               .timestamp_ms = 1'700'000'000'000}));
    }
    auto producer = std::make_shared<MockAsyncProducer>();
    auto spool = std::make_shared<SpoolFallback>(dir, SpoolOptions{.replay_rate = 0});
    SpoolDrain drain(spool, producer, unbounded());
    producer->set_delivery_handler(
        [&drain](const DeliveryReport& r) { EXPECT_TRUE(drain.on_report(r)); });

    // The first send times out on the wire (a slow broker): it may be on Kafka.
    producer->expect_input_and_fail(
        DeliveryError{error_codes::message_timed_out, "timed out in flight", true});
    EXPECT_FALSE(drain.drain_once(1s));
    // The second never leaves the client (it times out in the queue, or is purged): that says
    // nothing of the first, which may still be on Kafka.
    producer->expect_input_and_fail(
        DeliveryError{error_codes::message_timed_out, "timed out in the queue", false});
    EXPECT_FALSE(drain.drain_once(1s));
    const auto left = read_all_records(dir);
    ASSERT_EQ(left.size(), 1u);
    EXPECT_TRUE(left[0].replay_unconfirmed) << "a record that may be on Kafka stays so";

    producer->expect_input_and_succeed();
    EXPECT_TRUE(drain.drain_once(1s));
    const auto sent = producer->produced();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(header_of(sent[0], "kafka_log.replayed"), "1");
    EXPECT_EQ(header_of(sent[1], "kafka_log.replayed"), "possibly-duplicate");
    EXPECT_EQ(header_of(sent[2], "kafka_log.replayed"), "possibly-duplicate")
        << "a copy that may duplicate the first send is flagged";
    EXPECT_EQ(drain.stats().replayed, 1u);
    EXPECT_EQ(drain.stats().possibly_duplicate, 1u) << "the confirmed send was flagged";
    EXPECT_EQ(drain.stats().failures, 2u);
    EXPECT_EQ(segment_count(dir), 0u);
    producer->close(1s);
}

TEST(SpoolDrainTest, RecordsSpooledDuringAnOutageGoBackWhenTheClusterReturns) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    constexpr int total = 500;
    auto producer = std::make_shared<MockAsyncProducer>();
    for (int i = 0; i < total; ++i) producer->expect_input_and_succeed();
    auto spool = std::make_shared<SpoolFallback>(
        dir, SpoolOptions{.segment_bytes = 4096, .replay_rate = 1e6});
    WriterOptions options{.topic = "live"};
    options.breaker_backoff = 1h;  // only the cluster's own signal closes it here
    options.breaker_max_backoff = 1h;
    KafkaWriter writer(producer, spool, options);
    producer->set_cluster_state(ClusterState::unreachable);
    ASSERT_TRUE(writer.breaker_open());
    for (int i = 0; i < total; ++i) writer.write("outage-" + std::to_string(i));
    WriterStats s = writer.stats();
    EXPECT_EQ(s.fallback_unreachable, static_cast<std::uint64_t>(total));
    EXPECT_EQ(s.spooled, static_cast<std::uint64_t>(total));
    EXPECT_TRUE(producer->produced().empty()) << "nothing is replayed while the cluster is away";

    producer->set_cluster_state(ClusterState::reachable);
    ASSERT_TRUE(test::wait_until(
        [&] { return writer.stats().replayed == total && segment_count(dir) == 0; }, 30s))
        << writer.stats().replayed;
    s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.spooled, 0u);
    const auto sent = producer->produced();
    ASSERT_EQ(sent.size(), static_cast<std::size_t>(total));
    for (int i = 0; i < total; ++i) {
        EXPECT_EQ(sent[static_cast<std::size_t>(i)].payload, "outage-" + std::to_string(i));
        EXPECT_EQ(sent[static_cast<std::size_t>(i)].topic, "live");
        EXPECT_EQ(header_of(sent[static_cast<std::size_t>(i)], "kafka_log.replayed"), "1");
    }
    EXPECT_TRUE(read_all_records(dir).empty());
}

TEST(SpoolDrainTest,
     WithNoLiveRecordsLeftTheDrainProbesWithOneRecordAndItsConfirmationClosesTheBreaker) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    auto producer = std::make_shared<MockAsyncProducer>();
    auto spool = std::make_shared<SpoolFallback>(
        dir, SpoolOptions{.segment_bytes = 1 << 20, .replay_rate = 1e6});
    WriterOptions options{.topic = "live"};
    options.breaker_backoff = 20ms;
    options.breaker_max_backoff = 20ms;
    KafkaWriter writer(producer, spool, options);
    ASSERT_TRUE(test::wait_until([&] { return writer.drain_stats().passes >= 1; }, 10s))
        << "the start pass: nothing";

    // An outage: 50 records go to the spool, then the service logs nothing more.
    producer->set_cluster_state(ClusterState::unreachable);
    constexpr int total = 50;
    for (int i = 0; i < total; ++i) writer.write("quiet-" + std::to_string(i));
    EXPECT_EQ(writer.stats().fallback_unreachable, static_cast<std::uint64_t>(total));
    EXPECT_TRUE(producer->produced().empty());

    // The drain's probe: one record, held (unanswered); nothing else goes while it is out.
    // Then the rest, delivered.
    producer->expect_input_and_hold();
    for (int i = 1; i < total; ++i) producer->expect_input_and_succeed();
    ASSERT_TRUE(test::wait_until([&] { return producer->produced().size() == 1; }, 10s))
        << "a probe goes out";
    const std::uint64_t passes = writer.drain_stats().passes;
    ASSERT_TRUE(test::wait_until([&] { return writer.drain_stats().passes >= passes + 2; }, 10s));
    EXPECT_EQ(producer->produced().size(), 1u) << "nothing but the probe while it is unanswered";
    EXPECT_TRUE(writer.breaker_open());

    // Kafka confirms it: the breaker closes, and the rest follows without a live record.
    EXPECT_EQ(producer->release_held(), 1u);
    ASSERT_TRUE(test::wait_until(
        [&] { return writer.stats().replayed == total && segment_count(dir) == 0; }, 30s))
        << writer.stats().replayed;
    EXPECT_FALSE(writer.breaker_open()) << "a confirmed replay closes the breaker";
    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(total));
    EXPECT_EQ(s.spooled, 0u);
    const auto sent = producer->produced();
    ASSERT_EQ(sent.size(), static_cast<std::size_t>(total));
    std::set<std::string> payloads;
    for (const auto& m : sent) payloads.insert(m.payload);
    EXPECT_EQ(payloads.size(), static_cast<std::size_t>(total)) << "each record once";
}

}  // namespace
}  // namespace kafka_log
