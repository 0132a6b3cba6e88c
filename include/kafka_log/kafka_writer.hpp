// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief KafkaWriter: produce each record, or put it in the fallback; count every outcome.

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "kafka_log/async_producer.hpp"
#include "kafka_log/export.hpp"
#include "kafka_log/fallback_writer.hpp"
#include "kafka_log/spool_drain.hpp"

namespace kafka_log {

/// \brief Options of KafkaWriter.
struct WriterOptions {
    /// The Kafka topic every record goes to. Required (non-empty).
    std::string topic;
    /// How long the destructor lets `close()` flush before it purges.
    std::chrono::milliseconds close_timeout{5000};
    /// Opt-in bounded wait when the producer's queue is full. Zero (the default): a
    /// `queue_full` record goes to the fallback at once and `write` never waits.
    std::chrono::milliseconds queue_full_max_wait{0};
    /// The breaker: when the producer reports the cluster unreachable, new records go
    /// straight to the fallback (`fallback_unreachable`) instead of waiting in the producer's
    /// queue for `message.timeout.ms`. After `breaker_backoff` one record is let through as a
    /// probe; its success closes the breaker, its failure reopens it for twice as long (up to
    /// `breaker_max_backoff`). Any delivered record closes it. A probe waits in the producer's
    /// queue until the cluster answers, so probing costs one record at a time whatever the
    /// outage's length; the short defaults (with RdKafkaProducer's reconnect back-off of at
    /// most 500 ms) let the first record after an outage reach Kafka within about a second.
    bool breaker_enabled = true;
    std::chrono::milliseconds breaker_backoff{250};
    std::chrono::milliseconds breaker_max_backoff{500};
};

/// \brief A consistent snapshot of a KafkaWriter's counters.
///
/// The no-loss identity holds for every snapshot:
/// `submitted == delivered + fallback_total() + lost + in_flight`.
struct WriterStats {
    std::uint64_t submitted = 0;  ///< Records handed to `write`.
    std::uint64_t delivered = 0;  ///< Confirmed on Kafka.
    std::uint64_t in_flight = 0;  ///< Accepted by the producer, no report yet (or inside `write`).
    std::uint64_t lost = 0;       ///< The fallback failed too; the record went to stderr.
    std::uint64_t fallback_queue_full = 0;       ///< Producer queue full: in the fallback.
    std::uint64_t fallback_too_large = 0;        ///< Too large for the producer: in the fallback.
    std::uint64_t fallback_delivery_failed = 0;  ///< Accepted, then failed: in the fallback.
    std::uint64_t fallback_closed = 0;  ///< Written or purged after/at close: in the fallback.
    std::uint64_t fallback_unreachable =
        0;  ///< Breaker open (cluster unreachable): in the fallback.
    /// Written from inside a producer callback (say a librdkafka log line logged through the
    /// sink): never produced again from a producer thread, so in the fallback.
    std::uint64_t fallback_reentrant = 0;
    /// Failed reports flagged "possibly persisted": a subset of the fallback (or lost)
    /// records that may also be on Kafka. Not a bucket of the identity.
    std::uint64_t possibly_persisted = 0;

    /// \name The spool's drain (a SpoolFallback as the fallback; 0 otherwise)
    /// Not buckets of the identity: a record this writer put in the spool stays counted in its
    /// `fallback_*` bucket (the bucket says where the writer put it) and, once the drain has
    /// sent it back to Kafka, is counted in `replayed` too. Records of earlier processes that
    /// the drain replays count in `replayed` only.
    ///@{
    std::uint64_t spooled = 0;   ///< Records held in the spool now, waiting for replay.
    std::uint64_t replayed = 0;  ///< Records the drain sent back and Kafka confirmed.
    /// Of `replayed`: records sent back flagged `kafka_log.replayed: possibly-duplicate`, since
    /// an earlier send of each may be on Kafka too. With `possibly_persisted`, it bounds the
    /// extra copies kafka_log itself may have put on the topic.
    std::uint64_t replayed_possibly_duplicate = 0;
    std::uint64_t replay_failures =
        0;  ///< Replay sends refused or failed (the record stays spooled).
    /// With `SpoolOptions::journal`: records handed to the producer whose journal copy is not
    /// settled yet (they are in `in_flight`, or about to leave it).
    std::uint64_t journal_open = 0;
    /// Bytes the spool's segment files take on disk now (reserved space included).
    std::uint64_t spool_bytes = 0;
    ///@}

    /// \name State, not counts (not buckets of the identity)
    ///@{
    /// True while the breaker sends new records to the fallback (as `breaker_open()`).
    bool breaker_open = false;
    /// The producer's own figures (`AsyncProducer::client_stats()`): with RdKafkaProducer and
    /// `statistics.interval.ms` set, the queue depth and the brokers' round trip.
    ClientStats client;
    ///@}

    /// \brief Sum of the fallback_* buckets.
    std::uint64_t fallback_total() const noexcept {
        return fallback_queue_full + fallback_too_large + fallback_delivery_failed +
               fallback_closed + fallback_unreachable + fallback_reentrant;
    }
    /// \brief True when `submitted == delivered + fallback_total() + lost + in_flight`.
    bool balanced() const noexcept {
        return submitted == delivered + fallback_total() + lost + in_flight;
    }
};

/// \brief The framework-agnostic core: produce-or-fallback with exact accounting.
///
/// Every record given to `write` ends in exactly one bucket of WriterStats: delivered, one of
/// the fallback buckets, or lost (only when the fallback itself failed; the record is then
/// written to stderr as a last resort). `write` never throws and never waits on the
/// network: a record the producer refuses is written to the fallback before `write` returns.
///
/// Lifecycle: `close()` (or the destructor) closes the producer, which reports every record
/// still in flight; failures reported then are counted as `fallback_closed`. Records written
/// after `close()` go straight to the fallback (`fallback_closed`).
///
/// A fallback that later finds it cannot keep records it stored (a buffer that cannot reach
/// its file, a spool segment removed behind its back) tells the writer, which moves them from
/// their `fallback_*` bucket to `lost` in one step: a record counted in the fallback is held
/// there.
///
/// With a SpoolFallback as its fallback (and `SpoolOptions::replay_rate` > 0), the writer
/// drains the spool back into Kafka in the background (SpoolDrain): at start, for records an
/// earlier process left, and whenever the cluster is reachable again after an outage. Live
/// records come first: the drain is rate-bounded, keeps at most a thousand records in flight
/// and sends only while the breaker is closed (or its probe is due).
///
/// `fork()`: in a child process, a writer made before the fork sends every record to its
/// fallback (`fallback_closed`; librdkafka's threads do not exist in the child), and `close`
/// does not touch the producer. Records the parent had in flight at the fork stay counted in
/// the child's `in_flight`: they are the parent's to deliver.
///
/// Thread safety: `write`, `flush` and `stats` may be called from any number of threads at
/// once; `close` may be called concurrently with them. The writer installs its own delivery
/// handler on the producer: the producer must not be shared with another writer.
class KAFKA_LOG_EXPORT KafkaWriter {
public:
    /// \throws std::invalid_argument when `producer` or `fallback` is null or the topic is empty.
    KafkaWriter(std::shared_ptr<AsyncProducer> producer, std::shared_ptr<FallbackWriter> fallback,
                WriterOptions options);
    KafkaWriter(const KafkaWriter&) = delete;
    KafkaWriter& operator=(const KafkaWriter&) = delete;
    /// \brief Closes with `WriterOptions::close_timeout` if `close` was not called.
    ~KafkaWriter();

    /// \brief Produces one record, or writes it to the fallback; never throws, never blocks
    /// on the network. An empty `key` sends the record without a key.
    void write(std::string_view payload, std::string_view key = {}) noexcept;

    /// \brief Like `write(payload, key)`, with Kafka record headers. The headers follow the
    /// record wherever it goes: to the producer, into the journal copy and every fallback record
    /// (a SpoolFallback keeps them and its replay sends them back, followed by the
    /// `kafka_log.*` headers; a FileFallback or StreamFallback keeps the payload only). The
    /// views need to live only during the call. Never throws, never blocks on the network.
    void write(std::string_view payload, std::string_view key,
               std::span<const RecordHeader> headers) noexcept;

    /// \brief Waits up to `timeout` for the producer to report every accepted record, then
    /// flushes the fallback. \return true when nothing is in flight and the fallback flushed.
    bool flush(std::chrono::milliseconds timeout);

    /// \brief Closes the producer (flush up to `timeout`, then purge; purged records go to the
    /// fallback) and flushes the fallback. Idempotent. After it, `stats().in_flight == 0`
    /// unless `write` calls are still running on other threads.
    void close(std::chrono::milliseconds timeout);

    /// \brief A consistent snapshot of the counters (the identity holds for it).
    WriterStats stats() const;

    /// \brief The spool drain's counters (all zero without a spool or with `replay_rate` 0).
    SpoolDrainStats drain_stats() const;

    /// \brief True while the breaker sends new records to the fallback.
    bool breaker_open() const noexcept;

    /// \brief The topic records are produced to.
    const std::string& topic() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kafka_log
