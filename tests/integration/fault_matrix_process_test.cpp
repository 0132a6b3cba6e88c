// SPDX-License-Identifier: Apache-2.0
// The fault matrix (docs/reliability.md), its process, spool and configuration rows: each test
// sends a known number of records with unique payloads, applies the fault, then checks the
// no-loss identity exactly (in_flight 0 at the end where the process survives), finds every
// record on the topic (EmbeddedCluster) or in the spool (SpoolReader) with counts equal to the
// writer's counters, and allows duplicates only up to what the producer flagged possibly
// persisted.
//
// The SIGKILL and glog FATAL rows run kafka_log_fault_child (fault_child.cpp) with posix_spawn;
// only the Fork row forks this process, because the fork is its fault.

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../../src/core/producer/test_seam.hpp"
#include "fault_matrix_process_support.hpp"
#include "integration_support.hpp"
#include "kafka_log/errors.hpp"
#include "kafka_log/spool_drain.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "spool_support.hpp"

#if KAFKA_LOG_TEST_WITH_BOOST_LOG
#include <boost/log/core.hpp>
#include <boost/log/exceptions.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/make_shared.hpp>

#include "kafka_log/boost_log/kafka_sink_backend.hpp"
#include "kafka_log/boost_log/settings_factory.hpp"
#include "kafka_log/boost_log/settings_file.hpp"
#endif

#ifndef KAFKA_LOG_FAULT_CHILD
#error "KAFKA_LOG_FAULT_CHILD must name the built kafka_log_fault_child"
#endif

namespace kafka_log::test {
namespace {

namespace fs = std::filesystem;

std::string stats_text(const WriterStats& s) {
    std::ostringstream text;
    PrintTo(s, &text);
    return text.str();
}

std::string snapshot_text(const ChildSnapshot& s) {
    std::ostringstream text;
    text << "{submitted=" << s.submitted << " delivered=" << s.delivered
         << " fallback=" << s.fallback << " lost=" << s.lost << " in_flight=" << s.in_flight
         << " possibly_persisted=" << s.possibly_persisted
         << " fallback_unreachable=" << s.fallback_unreachable
         << " fallback_closed=" << s.fallback_closed << "}";
    return text.str();
}

/// The checks every row with a surviving writer ends with: the identity exact, nothing in
/// flight, every record of `sent` on the topic or in the spool, the spool holding exactly the
/// fallback records, the topic exactly the delivered ones (plus possibly persisted copies), and
/// duplicates no more than possibly persisted.
void expect_every_record_accounted(const std::vector<std::string>& sent, const WriterStats& s,
                                   const WhereRecordsAre& where) {
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s.submitted, sent.size());
    EXPECT_EQ(where.spool_copies(), s.fallback_total()) << "the spool holds the fallback records";
    EXPECT_EQ(where.spool_stats.corrupt, 0u);
    EXPECT_GE(where.topic_copies(), s.delivered) << "every delivered record is on the topic";
    EXPECT_LE(where.topic_copies(), s.delivered + s.possibly_persisted);
    const Accounting a = account(sent, where);
    EXPECT_EQ(a.missing, s.lost) << "records neither stored nor counted lost; first: "
                                 << (a.first_missing.empty() ? "" : a.first_missing[0]);
    EXPECT_LE(a.duplicates, s.possibly_persisted);
}

void say_row(const char* row, const WriterStats& s, const WhereRecordsAre& where,
             std::chrono::steady_clock::time_point start) {
    std::printf("[ %s ] %s; on the topic %llu, in the spool %llu; %.1f s\n", row,
                stats_text(s).c_str(), static_cast<unsigned long long>(where.topic_copies()),
                static_cast<unsigned long long>(where.spool_copies()),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

// --- IdempotentProducerFatalError --------------------------------------------------------------

constexpr int out_of_order_sequence_number = 45;  // RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER

// 3 000 records from two threads; half-way, one of them raises a fatal error of the idempotent
// producer on its client (librdkafka's rd_kafka_test_fatal_error). The producer makes one new
// client; the records the failed one held are in the spool with the fatal error's code; a
// record written afterwards reaches the topic; flush returns (nothing stalls).
TEST(FaultMatrix, IdempotentProducerFatalError) {
    const auto start = std::chrono::steady_clock::now();
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    ClientLog client_log;
    constexpr int threads = 2;
    constexpr int per_thread = 1500;
    std::vector<std::string> sent;
    WriterStats s;
    std::uint64_t recreations = 0;
    {
        auto producer =
            std::make_shared<RdKafkaProducer>(test_config(cluster, 5000), client_log.options());
        auto spool = std::make_shared<SpoolFallback>(dir, SpoolOptions{.replay_rate = 0});
        KafkaWriter writer(
            producer, spool,
            WriterOptions{.topic = topic, .breaker_backoff = 100ms, .breaker_max_backoff = 500ms});
        std::atomic<int> raised{-1};
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                for (int i = 0; i < per_thread; ++i) {
                    if (t == 0 && i == per_thread / 2) {
                        raised = detail::RdKafkaProducerTestSeam::raise_fatal_error(
                            *producer, out_of_order_sequence_number, "sequence gap (test)");
                    }
                    writer.write("fatal-" + std::to_string(t) + "-" + std::to_string(i));
                }
            });
        }
        for (auto& w : workers) w.join();
        for (int t = 0; t < threads; ++t) {
            for (int i = 0; i < per_thread; ++i)
                sent.push_back("fatal-" + std::to_string(t) + "-" + std::to_string(i));
        }
        ASSERT_EQ(raised.load(), 0) << "librdkafka raised the fatal error";
        ASSERT_TRUE(wait_until([&] { return producer->recreations() >= 1; }, 10s))
            << "the producer made a new client";
        ASSERT_TRUE(writer.flush(20s)) << "records stall in flight after the fatal error";
        const std::uint64_t delivered_before = writer.stats().delivered;
        int after = 0;
        ASSERT_TRUE(wait_until(
            [&] {
                sent.push_back("after-" + std::to_string(after++));
                writer.write(sent.back());
                writer.flush(2s);
                return writer.stats().delivered > delivered_before;
            },
            20s))
            << "a record written after the recreation reaches Kafka";
        writer.close(5s);
        s = writer.stats();
        recreations = producer->recreations();
        if (::testing::Test::HasFailure()) {
            for (const auto& line : client_log.lines())
                std::cerr << "  librdkafka: " << line << "\n";
        }
    }
    EXPECT_EQ(recreations, 1u);
    EXPECT_EQ(s.lost, 0u);
    const WhereRecordsAre where = read_back(cluster, topic, dir);
    expect_every_record_accounted(sent, s, where);
    std::uint64_t with_fatal_code = 0;
    for (const SpoolRecord& r : where.spool_records) {
        if (r.error == out_of_order_sequence_number) ++with_fatal_code;
    }
    EXPECT_EQ(with_fatal_code, s.fallback_delivery_failed)
        << "each record the failed client held is spooled with the fatal error's code";
    bool after_on_topic = false;
    for (const auto& [payload, n] : where.topic) after_on_topic |= payload.starts_with("after-");
    EXPECT_TRUE(after_on_topic) << "logging after the fatal error reaches the topic";
    say_row("fatal error", s, where, start);
}

// --- SIGKILL ----------------------------------------------------------------------------------

/// The child's first phase: the cluster up until `up_records` returned, then every broker down
/// until the child's snapshot shows `spooled` fallback records. False (with a failure) when the
/// child does not get there within 30 s.
bool drive_child_into_an_outage(EmbeddedCluster& cluster, FaultChild& child, ChildBoard& board,
                                std::uint64_t up_records, std::uint64_t spooled) {
    if (!wait_until([&] { return board.records_returned() >= up_records || !child.running(); },
                    30s) ||
        !child.running()) {
        ADD_FAILURE() << "the child did not write " << up_records << " records; it said:\n"
                      << child.said();
        return false;
    }
    cluster.set_broker_down(1);
    if (!wait_until(
            [&] {
                const auto snap = board.read();
                return (snap && snap->fallback >= spooled) || !child.running();
            },
            30s) ||
        !child.running()) {
        ADD_FAILURE() << "the child's spool did not reach " << spooled
                      << " records with the cluster down; it said:\n"
                      << child.said();
        return false;
    }
    return true;
}

// Without the journal. The child logs at 4 000 records/s: 1 000 with the cluster up, then the
// broker goes down (the breaker opens, records go to the spool) until 1 000 are spooled; it
// stops, publishes its counters, and is SIGKILLed with records still in the producer
// (message.timeout.ms 120 s). docs/reliability.md promises: every record the spool counted is in
// the spool; records the producer had and Kafka had not confirmed are lost with the process.
TEST(FaultMatrix, SigkillWithoutJournal) {
    const auto start = std::chrono::steady_clock::now();
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    BoardFile board(tmp / "board");
    ChildSnapshot snap;
    std::uint64_t returned = 0;
    {
        FaultChild child({"kill", cluster.bootstrap_servers(), topic, dir.string(),
                          board.path().string(), "4000"},
                         tmp / "stderr");
        ASSERT_TRUE(drive_child_into_an_outage(cluster, child, *board, 1000, 1000));
        board->request_stop();
        ASSERT_TRUE(wait_until([&] { return board->has_stopped() || !child.running(); }, 10s) &&
                    child.running())
            << child.said();
        const auto published = board->read();
        ASSERT_TRUE(published.has_value());
        snap = *published;
        child.kill_and_reap();
        ASSERT_TRUE(WIFSIGNALED(child.status()) && WTERMSIG(child.status()) == SIGKILL);
        returned = board->records_returned();
    }
    cluster.set_broker_up(1);

    EXPECT_TRUE(snap.balanced()) << snapshot_text(snap);
    EXPECT_EQ(snap.submitted, returned);
    EXPECT_EQ(snap.lost, 0u);
    EXPECT_GT(snap.in_flight, 0u) << "records were in the producer when the process was killed";
    EXPECT_GT(snap.fallback_unreachable, 0u) << snapshot_text(snap);

    const WhereRecordsAre where = read_back(cluster, topic, dir);
    const std::vector<std::string> sent = child_payloads(returned);
    const Accounting a = account(sent, where);
    // Every record the spool counted is in the spool, once, whole.
    EXPECT_EQ(where.spool_copies(), snap.fallback) << snapshot_text(snap);
    EXPECT_EQ(where.spool_stats.corrupt, 0u);
    EXPECT_EQ(where.spool_stats.torn, 0u) << "the child was killed between writes";
    for (const auto& [payload, n] : where.spool) EXPECT_EQ(n, 1) << payload;
    // Every confirmed record is on the topic; only the producer's records can be missing.
    std::uint64_t confirmed_on_topic = 0;
    for (const auto& [payload, n] : where.topic) confirmed_on_topic += n > 0 ? 1 : 0;
    EXPECT_GE(confirmed_on_topic, snap.delivered);
    EXPECT_LE(a.missing, snap.in_flight) << "only records the producer held are lost";
    EXPECT_LE(a.duplicates, where.spool_possibly_persisted);
    std::printf(
        "[ sigkill, no journal ] returned %llu; at the kill %s; on the topic %llu, in the "
        "spool %llu, lost with the process %llu; %.1f s\n",
        static_cast<unsigned long long>(returned), snapshot_text(snap).c_str(),
        static_cast<unsigned long long>(where.topic_copies()),
        static_cast<unsigned long long>(where.spool_copies()),
        static_cast<unsigned long long>(a.missing),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

// With the journal. The same child with SpoolOptions::journal, SIGKILLed while it writes (the
// cluster down, records in the producer). The next writer on the spool, with the cluster up,
// sends back what the dead one left; it also logs 200 records of its own. Every record whose
// write returned is then on the topic; copies beyond the first are flagged possibly-duplicate.
TEST(FaultMatrix, SigkillWithJournal) {
    const auto start = std::chrono::steady_clock::now();
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    BoardFile board(tmp / "board");
    std::uint64_t returned = 0;
    {
        FaultChild child({"kill", cluster.bootstrap_servers(), topic, dir.string(),
                          board.path().string(), "4000", "--journal"},
                         tmp / "stderr");
        ASSERT_TRUE(drive_child_into_an_outage(cluster, child, *board, 1000, 500));
        const auto snap = board->read();
        ASSERT_TRUE(snap.has_value());
        EXPECT_TRUE(snap->balanced()) << snapshot_text(*snap);
        child.kill_and_reap();  // in the middle of its writes
        ASSERT_TRUE(WIFSIGNALED(child.status()) && WTERMSIG(child.status()) == SIGKILL);
        returned = board->records_returned();
    }
    cluster.set_broker_up(1);

    // The next writer: drains the spool, then logs its own records.
    constexpr int own_records = 200;
    WriterStats s;
    SpoolDrainStats drain;
    ClientLog client_log;
    {
        auto producer =
            std::make_shared<RdKafkaProducer>(test_config(cluster, 10000), client_log.options());
        auto spool = std::make_shared<SpoolFallback>(
            dir, SpoolOptions{.segment_bytes = 64 << 10, .replay_rate = 100000, .journal = true});
        KafkaWriter writer(producer, spool, WriterOptions{.topic = topic});
        EXPECT_TRUE(wait_until([&] { return spool_segment_count(dir) == 0; }, 30s))
            << spool_segment_count(dir) << " segments left; replayed "
            << writer.drain_stats().replayed;
        for (int i = 0; i < own_records; ++i) writer.write("next-" + std::to_string(i));
        EXPECT_TRUE(writer.flush(20s));
        writer.close(5s);
        s = writer.stats();
        drain = writer.drain_stats();
        if (::testing::Test::HasFailure()) {
            for (const auto& line : client_log.lines())
                std::cerr << "  librdkafka: " << line << "\n";
        }
    }
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(own_records));
    EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(own_records));
    EXPECT_EQ(drain.corrupt, 0u);

    WhereRecordsAre where = read_back(cluster, topic, dir);
    // The next writer's own journal copies (settled: its records are on the topic) are not
    // records of the spool.
    std::uint64_t journal_copies = 0;
    for (const SpoolRecord& r : where.spool_records) {
        if (r.reason != FallbackReason::in_flight) continue;
        ++journal_copies;
        if (--where.spool[r.payload] == 0) where.spool.erase(r.payload);
    }
    // The seq == returned record may be on the topic too: its write was under way at the kill.
    std::vector<std::string> sent = child_payloads(returned + 1);
    for (int i = 0; i < own_records; ++i) sent.push_back("next-" + std::to_string(i));
    EXPECT_EQ(where.spool_records.size() - journal_copies, s.fallback_total())
        << "nothing left in the spool to send";
    std::uint64_t replay_copies = 0;
    std::uint64_t flagged = 0;
    for (const TopicRecord& r : where.topic_records) {
        const std::string* replayed = r.header(replayed_header);
        if (replayed == nullptr) continue;
        ++replay_copies;
        if (*replayed == "possibly-duplicate") ++flagged;
    }
    EXPECT_EQ(replay_copies, s.replayed) << "each record the drain confirmed is on the topic once";
    const Accounting a = account(sent, where);
    std::uint64_t missing_returned = a.missing;
    if (where.copies(sent[returned]) == 0) --missing_returned;  // the unfinished write
    EXPECT_EQ(missing_returned, 0u)
        << "records whose write returned that are not on the topic; first: "
        << (a.first_missing.empty() ? "" : a.first_missing[0]);
    EXPECT_LE(a.duplicates, flagged) << "duplicates are flagged possibly-duplicate";
    std::printf(
        "[ sigkill, journal ] returned %llu; next writer %s replayed %llu (flagged "
        "possibly-duplicate %llu); on the topic %llu, duplicates %llu, journal copies left %llu; "
        "%.1f s\n",
        static_cast<unsigned long long>(returned), stats_text(s).c_str(),
        static_cast<unsigned long long>(s.replayed), static_cast<unsigned long long>(flagged),
        static_cast<unsigned long long>(where.topic_copies()),
        static_cast<unsigned long long>(a.duplicates),
        static_cast<unsigned long long>(journal_copies),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

// --- The spool ---------------------------------------------------------------------------------

// The cluster down for the whole run and a spool of 64 KiB (four 16 KiB segments): 1 000
// records of ~120 bytes do not fit. Records refused are counted lost (and printed); every
// record the spool counted is read back whole.
TEST(FaultMatrix, SpoolFull) {
    const auto start = std::chrono::steady_clock::now();
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    cluster.set_broker_down(1);
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    constexpr int records = 1000;
    std::vector<std::string> sent;
    WriterStats s;
    SpoolStats spool_stats;
    {
        auto producer = std::make_shared<RdKafkaProducer>(test_config(cluster, 60000));
        auto spool = std::make_shared<SpoolFallback>(
            dir, SpoolOptions{.max_bytes = 64 << 10, .segment_bytes = 16 << 10, .replay_rate = 0});
        KafkaWriter writer(producer, spool, WriterOptions{.topic = topic});
        ASSERT_TRUE(wait_until([&] { return writer.breaker_open(); }, 10s))
            << "the writer sees the cluster down: records go straight to the spool";
        const std::string padding(100, 'x');
        for (int i = 0; i < records; ++i) {
            char id[16];
            std::snprintf(id, sizeof id, "full-%04d-", i);
            sent.push_back(id + padding);
            writer.write(sent.back());
        }
        writer.close(1s);  // what the producer holds is purged into the (full) spool
        s = writer.stats();
        spool_stats = spool->stats();
    }
    cluster.set_broker_up(1);
    const WhereRecordsAre where = read_back(cluster, topic, dir);
    expect_every_record_accounted(sent, s, where);
    EXPECT_EQ(s.delivered, 0u);
    EXPECT_GT(s.lost, 0u) << "the spool filled up";
    EXPECT_GT(s.fallback_total(), 0u);
    EXPECT_EQ(spool_stats.refused_full, s.lost) << "each lost record was refused for room";
    EXPECT_EQ(spool_stats.records, s.fallback_total());
    EXPECT_EQ(where.spool_copies() + s.lost, sent.size());
    for (const auto& [payload, n] : where.spool) EXPECT_EQ(n, 1) << payload;
    EXPECT_LE(spool_stats.bytes_on_disk, std::uint64_t{64} << 10);
    say_row("spool full", s, where, start);
}

// The cluster down; two threads log 2 000 records into the spool; half-way the spool directory
// is removed. The spool notices, makes the directory again and writes again every record it
// had: all are read back. A record that needs a new segment while the directory is gone is
// counted lost (and printed), never counted in the spool.
TEST(FaultMatrix, SpoolRemovedWhileRunning) {
    const auto start = std::chrono::steady_clock::now();
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    cluster.set_broker_down(1);
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    constexpr int threads = 2;
    constexpr int per_thread = 1000;
    std::vector<std::string> sent;
    WriterStats s;
    SpoolStats spool_stats;
    {
        auto producer = std::make_shared<RdKafkaProducer>(test_config(cluster, 60000));
        auto spool = std::make_shared<SpoolFallback>(
            dir, SpoolOptions{.segment_bytes = 16 << 10, .check_interval = 50ms, .replay_rate = 0});
        KafkaWriter writer(producer, spool, WriterOptions{.topic = topic});
        ASSERT_TRUE(wait_until([&] { return writer.breaker_open(); }, 10s))
            << "the writer sees the cluster down: records go straight to the spool";
        std::atomic<bool> removed{false};
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                for (int i = 0; i < per_thread; ++i) {
                    if (t == 0 && i == per_thread / 2) {
                        // As `rm -rf` run again until it succeeds: the spool's thread may make
                        // the next segment while the directory is emptied (ENOTEMPTY).
                        std::uintmax_t gone = 0;
                        bool whole = false;
                        for (int attempt = 0; attempt < 100 && !whole; ++attempt) {
                            std::error_code ec;
                            const std::uintmax_t n = fs::remove_all(dir, ec);
                            if (!ec) gone += n;
                            whole = !ec;
                        }
                        removed = whole && gone > 0;
                    }
                    writer.write("removed-" + std::to_string(t) + "-" + std::to_string(i));
                }
            });
        }
        for (auto& w : workers) w.join();
        for (int t = 0; t < threads; ++t) {
            for (int i = 0; i < per_thread; ++i)
                sent.push_back("removed-" + std::to_string(t) + "-" + std::to_string(i));
        }
        EXPECT_TRUE(removed.load()) << "the directory was removed";
        spool->check_now();
        writer.close(1s);
        spool->check_now();
        s = writer.stats();
        spool_stats = spool->stats();
    }
    cluster.set_broker_up(1);
    const WhereRecordsAre where = read_back(cluster, topic, dir);
    expect_every_record_accounted(sent, s, where);
    // Every record the spool had written is written again; a record that comes while the
    // directory is gone and needs a new segment is counted lost and printed (the spool makes
    // the directory again at its next check), never counted in the spool.
    EXPECT_GT(spool_stats.rewritten, 0u) << "records were written again after the removal";
    EXPECT_EQ(spool_stats.lost_after_write, 0u) << "no record lost once it was written";
    EXPECT_EQ(where.spool_copies() + s.lost, sent.size());
    EXPECT_EQ(where.spool_copies(), s.fallback_total());
    for (const auto& [payload, n] : where.spool) EXPECT_EQ(n, 1) << payload;
    say_row("spool removed", s, where, start);
}

// --- fork() ---------------------------------------------------------------------------------

// The parent logs 500 records (delivered), forks while its producer's threads run, and logs 500
// more; the child logs 500 records with the parent's writer. The child's records are in the
// spool (fallback_closed) in segments named with its pid; the parent's are on the topic, each
// once; no record is in both places or missing.
TEST(FaultMatrix, Fork) {
    const auto start = std::chrono::steady_clock::now();
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    constexpr int per_side = 500;
    std::vector<std::string> parent_sent;
    std::vector<std::string> child_sent;
    for (int i = 0; i < per_side; ++i) child_sent.push_back("child-" + std::to_string(i));
    auto producer = std::make_shared<RdKafkaProducer>(test_config(cluster, 30000));
    auto spool = std::make_shared<SpoolFallback>(dir, SpoolOptions{.replay_rate = 0});
    auto writer = std::make_shared<KafkaWriter>(producer, spool, WriterOptions{.topic = topic});
    for (int i = 0; i < per_side / 2; ++i) {
        parent_sent.push_back("parent-before-" + std::to_string(i));
        writer->write(parent_sent.back());
    }
    ASSERT_TRUE(writer->flush(20s)) << "nothing of the parent's in flight at the fork";

    const ForkOutcome child = run_forked(
        [&]() -> std::string {
            std::ostringstream failed;
            for (const auto& payload : child_sent) writer->write(payload);
            writer->close(2s);
            const WriterStats cs = writer->stats();
            const std::uint64_t before = per_side / 2;
            if (!Balanced(cs)) failed << "identity broken in the child: " << stats_text(cs) << "\n";
            if (cs.submitted != before + per_side || cs.delivered != before ||
                cs.fallback_closed != per_side || cs.fallback_total() != per_side || cs.lost != 0 ||
                cs.in_flight != 0) {
                failed << "child's counters: " << stats_text(cs) << "\n";
            }
            if (spool->stats().records != per_side)
                failed << "child's spool stored " << spool->stats().records << "\n";
            return failed.str();
        },
        30s);
    ASSERT_TRUE(child.finished);
    EXPECT_EQ(child.exit_code, 0) << child.report;
    EXPECT_EQ(child.report, "");

    for (int i = 0; i < per_side / 2; ++i) {
        parent_sent.push_back("parent-after-" + std::to_string(i));
        writer->write(parent_sent.back());
    }
    ASSERT_TRUE(writer->flush(20s));
    writer->close(5s);
    const WriterStats s = writer->stats();
    EXPECT_EQ(spool->stats().records, 0u) << "the parent spooled nothing";
    writer.reset();
    spool.reset();
    producer.reset();

    const WhereRecordsAre where = read_back(cluster, topic, dir);
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, parent_sent.size());
    EXPECT_EQ(s.delivered, parent_sent.size());
    EXPECT_EQ(s.fallback_total() + s.lost + s.in_flight, 0u);
    EXPECT_EQ(where.topic_copies(), parent_sent.size());
    for (const auto& payload : parent_sent) EXPECT_EQ(where.topic.count(payload), 1u) << payload;
    // The child's counters (checked in the child): fallback_closed == 500 == read back here.
    EXPECT_EQ(where.spool_copies(), child_sent.size());
    const std::string parent_suffix = "-" + std::to_string(::getpid()) + ".kls";
    for (const SpoolRecord& r : where.spool_records) {
        EXPECT_EQ(r.reason, FallbackReason::closed) << r.payload;
        EXPECT_FALSE(r.segment.filename().string().ends_with(parent_suffix))
            << "a child's record in a segment of the parent: " << r.payload;
    }
    std::vector<std::string> all = parent_sent;
    all.insert(all.end(), child_sent.begin(), child_sent.end());
    const Accounting a = account(all, where);
    EXPECT_EQ(a.missing, 0u);
    EXPECT_EQ(a.duplicates, 0u);
    std::printf("[ fork ] parent %s; child %zu records in the spool; %.1f s\n",
                stats_text(s).c_str(), static_cast<std::size_t>(where.spool_copies()),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

// --- glog FATAL --------------------------------------------------------------------------------

#if KAFKA_LOG_TEST_WITH_GLOG
// The cluster down; a child logs 1 000 glog lines (its writer has no breaker: every line waits
// in the producer), then LOG(FATAL). Before glog aborts, the sink closes the writer:
// every line and the fatal one are in the spool, the child's counters (published after the
// close) balance with nothing in flight.
TEST(FaultMatrix, GlogFatal) {
    const auto start = std::chrono::steady_clock::now();
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    cluster.set_broker_down(1);
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    BoardFile board(tmp / "board");
    constexpr int lines = 1000;
    {
        FaultChild child({"glog-fatal", cluster.bootstrap_servers(), topic, dir.string(),
                          board.path().string(), std::to_string(lines)},
                         tmp / "stderr");
        ASSERT_TRUE(child.wait_for_end(30s)) << "glog did not abort; it said:\n" << child.said();
        ASSERT_TRUE(WIFSIGNALED(child.status()) && WTERMSIG(child.status()) == SIGABRT)
            << "status " << child.status() << "; it said:\n"
            << child.said();
        EXPECT_NE(child.said().find("the-last-words"), std::string::npos) << child.said();
    }
    ASSERT_TRUE(board->has_stopped()) << "the child published its counters after the close";
    const auto published = board->read();
    ASSERT_TRUE(published.has_value());
    const ChildSnapshot snap = *published;
    EXPECT_TRUE(snap.balanced()) << snapshot_text(snap);
    EXPECT_EQ(snap.submitted, static_cast<std::uint64_t>(lines + 1));
    EXPECT_EQ(snap.in_flight, 0u) << snapshot_text(snap);
    EXPECT_EQ(snap.lost, 0u);
    EXPECT_EQ(snap.delivered, 0u);
    EXPECT_EQ(snap.fallback_closed, static_cast<std::uint64_t>(lines + 1))
        << "every line was in the producer and purged into the spool before the abort";
    EXPECT_EQ(board->records_returned(), static_cast<std::uint64_t>(lines));

    cluster.set_broker_up(1);
    const WhereRecordsAre where = read_back(cluster, topic, dir);
    EXPECT_EQ(where.spool_copies(), snap.fallback) << snapshot_text(snap);
    EXPECT_EQ(where.spool_stats.corrupt, 0u);
    EXPECT_LE(where.topic_copies(), snap.possibly_persisted);
    std::map<std::string, int> messages;
    for (const SpoolRecord& r : where.spool_records) {
        const auto json = nlohmann::json::parse(r.payload, nullptr, false);
        ASSERT_FALSE(json.is_discarded()) << r.payload;
        ++messages[json.value("msg", std::string())];
    }
    for (int i = 0; i < lines; ++i) {
        char text[32];
        std::snprintf(text, sizeof text, "line-%06d", i);
        EXPECT_EQ(messages[text], 1) << text;
    }
    EXPECT_EQ(messages["the-last-words"], 1) << "the FATAL line is in the spool";
    std::printf("[ glog fatal ] child %s; in the spool %llu; %.1f s\n", snapshot_text(snap).c_str(),
                static_cast<unsigned long long>(where.spool_copies()),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}
#endif

// --- Bad configuration ----------------------------------------------------------------------

/// A working writer (cluster up, spool fallback) for the configuration rows.
struct WorkingWriter {
    explicit WorkingWriter(EmbeddedCluster& cluster, const std::string& topic)
        : producer(std::make_shared<RdKafkaProducer>(test_config(cluster, 10000))),
          spool(std::make_shared<SpoolFallback>(tmp / "spool", SpoolOptions{.replay_rate = 0})),
          writer(std::make_shared<KafkaWriter>(producer, spool, WriterOptions{.topic = topic})) {}
    TempDir tmp;
    std::shared_ptr<RdKafkaProducer> producer;
    std::shared_ptr<SpoolFallback> spool;
    std::shared_ptr<KafkaWriter> writer;
};

// A working writer logs 1 000 records; then producers are made from bad configurations (an
// unknown property, a bad value, a properties text with a bad line): each ConfigError names
// the key (or source:line). The writer logs 1 000 more; all 2 000 are on the topic, once.
TEST(FaultMatrix, BadProducerConfiguration) {
    const auto start = std::chrono::steady_clock::now();
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    WorkingWriter w(cluster, topic);
    std::vector<std::string> sent;
    for (int i = 0; i < 1000; ++i) {
        sent.push_back("good-before-" + std::to_string(i));
        w.writer->write(sent.back());
    }

    try {
        RdKafkaProducer bad(ProducerConfig{{"bootstrap.servers", cluster.bootstrap_servers()},
                                           {"no.such.property", "1"}});
        ADD_FAILURE() << "an unknown property was accepted";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "no.such.property");
        EXPECT_NE(std::string(e.what()).find("no.such.property"), std::string::npos) << e.what();
    }
    try {
        RdKafkaProducer bad(ProducerConfig{{"bootstrap.servers", cluster.bootstrap_servers()},
                                           {"message.timeout.ms", "soon"}});
        ADD_FAILURE() << "a bad value was accepted";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "message.timeout.ms");
        EXPECT_NE(std::string(e.what()).find("message.timeout.ms"), std::string::npos) << e.what();
    }
    try {
        (void)ProducerConfig::from_string("linger.ms=5\nthis line has no equals sign\n",
                                          "bad.properties");
        ADD_FAILURE() << "a line without '=' was accepted";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.line(), 2);
        EXPECT_EQ(e.source(), "bad.properties");
        EXPECT_NE(std::string(e.what()).find("bad.properties:2"), std::string::npos) << e.what();
    }

    for (int i = 0; i < 1000; ++i) {
        sent.push_back("good-after-" + std::to_string(i));
        w.writer->write(sent.back());
    }
    ASSERT_TRUE(w.writer->flush(20s));
    w.writer->close(5s);
    const WriterStats s = w.writer->stats();
    const WhereRecordsAre where = read_back(cluster, topic, w.tmp / "spool");
    expect_every_record_accounted(sent, s, where);
    EXPECT_EQ(s.delivered, sent.size());
    EXPECT_EQ(where.topic_copies(), sent.size());
    say_row("bad producer configuration", s, where, start);
}

#if KAFKA_LOG_TEST_WITH_BOOST_LOG
// A Boost.Log sink on a working writer logs 1 000 records; then two bad settings files are
// loaded: one Boost's parser would refuse (the error names file:line and the parameter), one the
// sink factory refuses (an unknown producer property: the error names the file and
// `Producer.<key>`). The existing sink logs 1 000 more; all 2 000 are on the topic, once.
TEST(FaultMatrix, BadSettingsFile) {
    namespace logging = boost::log;
    const auto start = std::chrono::steady_clock::now();
    register_boost_log_factory();
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    WorkingWriter w(cluster, topic);
    using Frontend = logging::sinks::unlocked_sink<KafkaSinkBackend>;
    auto sink = boost::make_shared<Frontend>(boost::make_shared<KafkaSinkBackend>(w.writer));
    sink->set_formatter(logging::expressions::stream << logging::expressions::smessage);
    logging::core::get()->add_sink(sink);
    logging::sources::logger logger;
    std::vector<std::string> sent;
    for (int i = 0; i < 1000; ++i) {
        sent.push_back("sink-before-" + std::to_string(i));
        BOOST_LOG(logger) << sent.back();
    }

    const fs::path unquoted = w.tmp / "unquoted.ini";
    std::ofstream(unquoted) << "[Sinks.Bad]\nDestination=Kafka\nFallback=/tmp/x.log\n";
    try {
        init_from_settings_file(unquoted);
        ADD_FAILURE() << "an unquoted path was accepted";
    } catch (const std::exception& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(unquoted.string() + ":3"), std::string::npos) << what;
        EXPECT_NE(what.find("Fallback"), std::string::npos) << what;
    }
    const fs::path unknown_key = w.tmp / "unknown_key.ini";
    std::ofstream(unknown_key) << "[Sinks.Bad]\nDestination=Kafka\nBrokers=\"127.0.0.1:9\"\n"
                                  "Topic=bad\nProducer.no.such.property=1\n";
    try {
        init_from_settings_file(unknown_key);
        ADD_FAILURE() << "an unknown producer property was accepted";
    } catch (const logging::invalid_value& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(unknown_key.string()), std::string::npos) << what;
        EXPECT_NE(what.find("Producer.no.such.property"), std::string::npos) << what;
    }

    for (int i = 0; i < 1000; ++i) {
        sent.push_back("sink-after-" + std::to_string(i));
        BOOST_LOG(logger) << sent.back();
    }
    logging::core::get()->remove_sink(sink);
    sink->flush();
    w.writer->close(5s);
    logging::core::get()->remove_all_sinks();
    const WriterStats s = w.writer->stats();
    const WhereRecordsAre where = read_back(cluster, topic, w.tmp / "spool");
    expect_every_record_accounted(sent, s, where);
    EXPECT_EQ(s.delivered, sent.size());
    EXPECT_EQ(where.topic_copies(), sent.size());
    say_row("bad settings file", s, where, start);
}
#endif

}  // namespace
}  // namespace kafka_log::test
