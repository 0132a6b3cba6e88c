// SPDX-License-Identifier: Apache-2.0
#pragma once

// The fault matrix's rig (docs/reliability.md, "The fault matrix"): a KafkaWriter on a real
// producer with the spool as its fallback, and the read-back every row asserts. Each record
// sent is on the topic or in the spool; the records read back equal the writer's counters,
// bucket by bucket (delivered: on the topic; each fallback_* bucket: spooled with that reason,
// or sent back by the writer's drain); and a record is there more than once only as often as
// the producer said "possibly persisted".

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "integration_support.hpp"
#include "kafka_log/spool_drain.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "kafka_log/spool_reader.hpp"
#include "spool_support.hpp"

namespace kafka_log::test {

/// Whether the writer sends its spool back to Kafka by itself when the cluster is reachable.
/// Off, the spool keeps exactly what the fault put there, which the read-back compares with
/// each fallback_* counter; on (for the rows where the cluster comes back), records sent back
/// are counted in `WriterStats::replayed` and found on the topic with the replay header.
enum class Replay { off, on };

/// A breaker that probes again quickly (the outage tests' settings).
inline WriterOptions quick_breaker() {
    WriterOptions o;
    o.breaker_backoff = 200ms;
    o.breaker_max_backoff = 1s;
    return o;
}

/// A writer on a real producer with a SpoolFallback in a temporary directory, for one topic;
/// it remembers every payload it was given. librdkafka's lines are printed when a test fails.
struct SpoolRig {
    SpoolRig(std::string topic_name, ProducerConfig config, Replay replay,
             WriterOptions writer_options = quick_breaker())
        : topic(std::move(topic_name)),
          spool_dir(dir / "spool"),
          producer(std::make_shared<RdKafkaProducer>(std::move(config), client_log.options())),
          spool(std::make_shared<SpoolFallback>(
              spool_dir, SpoolOptions{.segment_bytes = 256 * 1024,
                                      .replay_rate = replay == Replay::on ? 100000.0 : 0.0})) {
        writer_options.topic = topic;
        writer = std::make_shared<KafkaWriter>(producer, spool, writer_options);
    }
    ~SpoolRig() {
        if (::testing::Test::HasFailure()) {
            for (const auto& line : client_log.lines())
                std::cerr << "  librdkafka: " << line << "\n";
        }
    }
    SpoolRig(const SpoolRig&) = delete;
    SpoolRig& operator=(const SpoolRig&) = delete;

    /// Writes one record; each test gives payloads unique within it.
    void write(std::string payload) {
        sent.push_back(std::move(payload));
        writer->write(sent.back());
    }

    std::string topic;
    ClientLog client_log;
    TempDir dir;
    std::filesystem::path spool_dir;
    std::shared_ptr<RdKafkaProducer> producer;
    std::shared_ptr<SpoolFallback> spool;
    std::shared_ptr<KafkaWriter> writer;
    std::vector<std::string> sent;
};

/// The writer's counter for records stored with `reason` (0 for a journal copy's reason).
inline std::uint64_t fallback_bucket(const WriterStats& s, FallbackReason reason) {
    switch (reason) {
        case FallbackReason::queue_full:
            return s.fallback_queue_full;
        case FallbackReason::too_large:
            return s.fallback_too_large;
        case FallbackReason::delivery_failed:
            return s.fallback_delivery_failed;
        case FallbackReason::closed:
            return s.fallback_closed;
        case FallbackReason::unreachable:
            return s.fallback_unreachable;
        case FallbackReason::reentrant:
            return s.fallback_reentrant;
        case FallbackReason::in_flight:
            break;
    }
    return 0;
}

inline constexpr FallbackReason writer_reasons[] = {
    FallbackReason::queue_full, FallbackReason::too_large,   FallbackReason::delivery_failed,
    FallbackReason::closed,     FallbackReason::unreachable, FallbackReason::reentrant,
};

/// What the spool holds now, read back with SpoolReader.
struct SpoolReadBack {
    std::vector<SpoolRecord> records;
    SpoolReadStats stats;
};

inline SpoolReadBack read_spool(const SpoolRig& rig) {
    SpoolReadBack out;
    out.records = read_spool_records(rig.spool_dir, &out.stats);
    return out;
}

/// Checks the spool against the writer's snapshot `s`: nothing corrupt, every record of this
/// topic and sent by the test, as many records as `s.spooled`, and, while nothing was sent
/// back (`s.replayed == 0`), exactly each fallback_* counter's number with that reason.
/// \return the records per reason.
inline std::map<FallbackReason, std::uint64_t> expect_spool_matches(const SpoolRig& rig,
                                                                    const WriterStats& s,
                                                                    const SpoolReadBack& spool) {
    const auto sent = counts(rig.sent);
    std::map<FallbackReason, std::uint64_t> reasons;
    int unknown = 0;
    for (const SpoolRecord& r : spool.records) {
        ++reasons[r.reason];
        EXPECT_EQ(r.topic, rig.topic) << r.payload;
        if (!sent.contains(r.payload) && unknown++ < 5)
            ADD_FAILURE() << "unknown record in the spool: '" << r.payload << "'";
    }
    EXPECT_EQ(unknown, 0);
    EXPECT_EQ(spool.stats.corrupt, 0u);
    EXPECT_EQ(spool.records.size(), s.spooled) << "the spool holds what the writer says it holds";
    EXPECT_EQ(reasons[FallbackReason::in_flight], 0u) << "no journal copy without the journal";
    for (const FallbackReason reason : writer_reasons) {
        if (s.replayed == 0) {
            EXPECT_EQ(reasons[reason], fallback_bucket(s, reason)) << to_string(reason);
        } else {
            EXPECT_LE(reasons[reason], fallback_bucket(s, reason)) << to_string(reason);
        }
    }
    return reasons;
}

/// What the topic and the spool hold, read back.
struct ReadBack {
    std::vector<TopicRecord> topic;
    SpoolReadBack spool;
};

inline ReadBack read_back(const EmbeddedCluster& cluster, const SpoolRig& rig) {
    return ReadBack{cluster.read_all(rig.topic, 30s), read_spool(rig)};
}

struct AccountingOptions {
    /// The mock cluster keeps both copies of a producer's retry when the broker went down and
    /// up in between (a real broker de-duplicates them: idempotence). With this, extra copies
    /// of a record found only live on the topic are counted apart, not held against kafka_log.
    bool live_retry_copies = false;
};

/// The read-back, counted.
struct Tally {
    std::uint64_t live = 0;               ///< Records on the topic only live (no replay header).
    std::uint64_t fallback = 0;           ///< Records in the spool, or on the topic replayed.
    std::uint64_t replayed = 0;           ///< Records on the topic with the replay header.
    std::uint64_t duplicates = 0;         ///< Extra copies, topic and spool together.
    std::uint64_t live_retry_copies = 0;  ///< Extra live copies (see AccountingOptions).
};

/// The assertions every row of the matrix makes once the writer is closed (`s` taken after
/// close): the identity with nothing in flight or lost, every record sent found (on the topic
/// or in the spool), the counts read back equal to the counters bucket by bucket, and
/// duplicates no more than `possibly_persisted + replayed_possibly_duplicate`. Prints one line of
/// figures.
inline Tally expect_every_record_accounted(const SpoolRig& rig, const WriterStats& s,
                                           const ReadBack& back, AccountingOptions options = {}) {
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.submitted, rig.sent.size());
    EXPECT_EQ(s.fallback_total(), s.spooled + s.replayed)
        << "each fallback record is in the spool or was sent back";
    expect_spool_matches(rig, s, back.spool);

    struct Copies {
        std::uint64_t live = 0, replayed = 0, spooled = 0;
    };
    std::map<std::string, Copies> found;
    for (const auto& [payload, n] : counts(rig.sent)) {
        EXPECT_EQ(n, 1) << "the test sends unique payloads: " << payload;
        found[payload];
    }
    int unknown = 0;
    for (const TopicRecord& r : back.topic) {
        const auto it = found.find(r.payload);
        if (it == found.end()) {
            if (unknown++ < 5)
                ADD_FAILURE() << "unknown record on the topic: '" << r.payload << "'";
            continue;
        }
        ++(r.header(replayed_header) != nullptr ? it->second.replayed : it->second.live);
    }
    EXPECT_EQ(unknown, 0);
    for (const SpoolRecord& r : back.spool.records) {
        if (const auto it = found.find(r.payload); it != found.end()) ++it->second.spooled;
    }

    Tally t;
    std::uint64_t missing = 0;
    for (const auto& [payload, c] : found) {
        const std::uint64_t copies = c.live + c.replayed + c.spooled;
        if (copies == 0) {
            if (missing++ < 5) ADD_FAILURE() << "missing: '" << payload << "'";
            continue;
        }
        if (c.replayed + c.spooled == 0) {
            ++t.live;
        } else {
            ++t.fallback;
        }
        if (c.replayed > 0) ++t.replayed;
        if (options.live_retry_copies && c.replayed + c.spooled == 0) {
            t.live_retry_copies += copies - 1;
        } else {
            t.duplicates += copies - 1;
        }
    }
    EXPECT_EQ(missing, 0u) << "every record is on the topic or in the spool";
    EXPECT_EQ(t.live, s.delivered) << "records only on the topic, live: the delivered ones";
    EXPECT_EQ(t.fallback, s.fallback_total()) << "records in the spool or replayed: the fallback";
    EXPECT_GE(t.replayed, s.replayed);
    EXPECT_LE(t.duplicates, s.possibly_persisted + s.replayed_possibly_duplicate);
    std::cout << "[ fault matrix ] " << s.submitted << " records: delivered " << s.delivered
              << ", queue_full " << s.fallback_queue_full << ", too_large " << s.fallback_too_large
              << ", delivery_failed " << s.fallback_delivery_failed << ", closed "
              << s.fallback_closed << ", unreachable " << s.fallback_unreachable << "; replayed "
              << s.replayed << ", spooled " << s.spooled << "; possibly persisted "
              << s.possibly_persisted << ", replayed possibly-duplicate "
              << s.replayed_possibly_duplicate << ", duplicates " << t.duplicates
              << ", live retry copies " << t.live_retry_copies << "\n";
    return t;
}

}  // namespace kafka_log::test
