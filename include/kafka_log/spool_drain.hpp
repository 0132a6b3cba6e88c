// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief SpoolDrain: sends a spool's records back to Kafka, marks each one confirmed in place,
/// and deletes a segment once every record in it is on Kafka.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "kafka_log/async_producer.hpp"
#include "kafka_log/export.hpp"
#include "kafka_log/spool_fallback.hpp"

namespace kafka_log {

/// \brief The Kafka header that carries a replayed record's id (32 hex digits, unique across
/// hosts and processes): consumers de-duplicate on it.
inline constexpr std::string_view replay_id_header = "kafka_log.id";
/// \brief The Kafka header present on every replayed record. Its value is `1`, or
/// `possibly-duplicate` when the record may already be on Kafka (the producer said so when it
/// failed, or an earlier replay was stopped before Kafka answered).
inline constexpr std::string_view replayed_header = "kafka_log.replayed";

/// \brief Options of SpoolDrain.
struct SpoolDrainOptions {
    /// Records per second, at most. <= 0: no bound.
    double rate = 10000;
    /// Replayed records waiting for Kafka's answer, at most: the drain never fills the
    /// producer's queue, so live records keep their room.
    std::size_t max_in_flight = 1000;
    /// Non-empty: every record goes to this topic instead of its own.
    std::string topic;
    /// After a failed pass, how long the background drain waits before the next one (it starts
    /// again at once when told the cluster is reachable).
    std::chrono::milliseconds retry_backoff{1000};
    /// How often the background drain looks for new records to send while it is idle.
    std::chrono::milliseconds idle_interval{1000};
};

/// \brief Counters of a SpoolDrain.
struct SpoolDrainStats {
    std::uint64_t replayed = 0;  ///< Confirmed on Kafka (and marked so in the spool).
    /// Of `replayed`: records sent with `kafka_log.replayed: possibly-duplicate` (an earlier send
    /// of each, live or replayed, may be on Kafka too). Consumers that de-duplicate on
    /// `kafka_log.id` see at most this many extra copies from the drain.
    std::uint64_t possibly_duplicate = 0;
    /// Sends Kafka refused or failed. The record stays in the spool; the next pass sends it again.
    std::uint64_t failures = 0;
    std::uint64_t corrupt =
        0;  ///< Corrupt stretches skipped (their segment is kept, renamed `*.corrupt`).
    std::uint64_t in_flight = 0;         ///< Sent, no answer yet.
    std::uint64_t segments_deleted = 0;  ///< Segments deleted once every record was on Kafka.
    std::uint64_t sent_bytes = 0;        ///< Payload bytes sent.
    /// Times the background drain looked at the spool (a pass, or a probe held back because
    /// one is still unanswered, or nothing permitted).
    std::uint64_t passes = 0;
};

/// \brief Sends the records of a spool back to Kafka.
///
/// Each record keeps its topic (unless `SpoolDrainOptions::topic` overrides it), key, headers
/// and timestamp, and gains the headers `kafka_log.id` and `kafka_log.replayed`. Before a record
/// is sent its frame is marked "being replayed"; when Kafka confirms it, "replayed"; when every
/// record of a segment is replayed, the segment is deleted. A drain stopped or killed half-way
/// therefore re-sends only the records it had sent without an answer, flagged possibly
/// duplicate, and never a confirmed one.
///
/// The producer's delivery handler must pass every report to `on_report` first (KafkaWriter
/// does this); reports of replayed records are recognised by their headers.
///
/// Thread safety: all members may be called from any thread.
class KAFKA_LOG_EXPORT SpoolDrain {
public:
    /// \brief What the drain may send now.
    enum class Permit {
        none,  ///< Nothing: the cluster is unreachable.
        one,   ///< One record, as a probe (nothing else while it is unanswered).
        all,   ///< Everything, at the drain's rate: the cluster is reachable.
    };
    /// \brief Asked before each pass and each record; an empty gate always permits all.
    using Gate = std::function<Permit()>;

    /// \throws std::invalid_argument when `spool` or `producer` is null.
    SpoolDrain(std::shared_ptr<SpoolFallback> spool, std::shared_ptr<AsyncProducer> producer,
               SpoolDrainOptions options = {}, Gate gate = {});
    SpoolDrain(const SpoolDrain&) = delete;
    SpoolDrain& operator=(const SpoolDrain&) = delete;
    /// \brief Stops (see `stop`).
    ~SpoolDrain();

    /// \brief Starts the background drain: a pass at once, then whenever `wake` is called or
    /// `idle_interval` passes, as far as the gate permits (while it permits one record, the
    /// drain sends a single probe record and no more until it is answered).
    void start();

    /// \brief Stops sending and joins the background drain. Records already sent keep their
    /// "being replayed" mark until their report reaches `on_report` (a producer's close
    /// reports them all).
    void stop() noexcept;

    /// \brief The cluster is reachable again: the background drain starts a pass now.
    void wake() noexcept;

    /// \brief One pass on the calling thread: sends every record of every drainable segment
    /// (sealing the current one), then waits up to `wait` for Kafka's answers.
    /// \param progress called now and then (and at the end) with the counters so far.
    /// \return true when the pass sent everything it found and Kafka confirmed all of it.
    bool drain_once(std::chrono::milliseconds wait,
                    const std::function<void(const SpoolDrainStats&)>& progress = {});

    /// \brief Takes the report of a replayed record. \return false when `report` is not one
    /// (the caller handles it as its own).
    bool on_report(const DeliveryReport& report) noexcept;

    /// \brief True when `message` carries the `kafka_log.replayed` header.
    static bool is_replay(const MessageView& message) noexcept;

    SpoolDrainStats stats() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace kafka_log
