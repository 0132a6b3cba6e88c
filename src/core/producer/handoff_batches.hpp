// SPDX-License-Identifier: Apache-2.0
#pragma once

// HandoffBatches: takes a hand-off ring's oldest records into librdkafka, a batch at a time:
// consecutive records of one topic, up to batch_max, in one rd_kafka_produce_batch call that
// copies them straight from the ring's slots. A record with headers or a timestamp of its own
// goes alone, with rd_kafka_producev (a batch carries neither).
//
// - send_batch() is the ring's consumer's (the poll thread, or the thread closing the
//   producer): it settles every record it takes out. A record librdkafka refuses gets a
//   failure report through DeliveryReports; one refused for a full queue is retried while
//   reports are served, until the producer closes.
// - help_send() is for a logging thread that found its ring full: it makes room, oldest first,
//   and leaves refusals (and reports) to the consumer.
// After purge_from_now() batches are not sent but reported purged.
//
// Thread safety: one thread per ring at a time (the ring's consumer role); purge_from_now()
// and stop_retrying() from any thread.

#include <librdkafka/rdkafka.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "handoff_ring.hpp"

namespace kafka_log::detail {

class ClientRecovery;
class DeliveryReports;

/// What a ring slot carries besides key and payload.
struct HandoffTag {
    rd_kafka_topic_t* topic = nullptr;
    std::uint64_t token = 0;  // MessageView::token
};
using HandoffRingOfRecords = HandoffRing<HandoffTag>;

class HandoffBatches {
public:
    using Ring = HandoffRingOfRecords;
    static constexpr std::size_t batch_max = 256;

    /// Sends each record to its topic's client; serves `clients`' current one while librdkafka's
    /// queue is full; reports failures to `reports` (both outlive this object).
    HandoffBatches(ClientRecovery& clients, DeliveryReports& reports) noexcept
        : clients_(clients), reports_(reports) {}

    HandoffBatches(const HandoffBatches&) = delete;
    HandoffBatches& operator=(const HandoffBatches&) = delete;

    /// What send_batch() did with a ring.
    struct Outcome {
        std::size_t taken = 0;     ///< records taken out of the ring (sent, failed or skipped)
        bool passed_busy = false;  ///< another thread was taking from the ring: not waited for
    };

    /// Takes one batch out of `ring`: sends it, or reports it purged after purge_from_now()
    /// or when `purge`. When another thread is taking from the ring, waits for it if `wait`,
    /// else passes it over.
    Outcome send_batch(Ring& ring, bool purge, bool wait) noexcept;

    /// For a logging thread whose ring is full: sends the ring's oldest batch, waiting a few
    /// scheduler yields at most for the consumer. True when it made room.
    bool help_send(Ring& ring) noexcept;

    /// From now on, batches are reported purged (close gave up waiting).
    void purge_from_now() noexcept { purging_.store(true, std::memory_order_release); }
    bool purging() const noexcept { return purging_.load(std::memory_order_acquire); }
    /// From now on, a record refused for a full queue is reported failed, not retried.
    void stop_retrying() noexcept { stopping_.store(true, std::memory_order_release); }

private:
    using Batch = std::array<rd_kafka_message_t, batch_max>;

    /// The oldest plain records of one topic, up to batch_max; 0 when the oldest carries
    /// headers or a timestamp (it is sent alone, by produce_one).
    static std::size_t collect(Ring& ring, Batch& batch, rd_kafka_topic_t*& topic,
                               std::size_t& skipped) noexcept;
    /// Hands one slot's record, headers and timestamp included, to `client` for `topic`.
    static rd_kafka_resp_err_t produce_one(rd_kafka_t* client, rd_kafka_topic_t* topic,
                                           const Ring::Slot& slot) noexcept;
    void settle_refused(Ring& ring, const Batch& batch, std::size_t n) noexcept;
    /// A record a failed client refused (`_FATAL`): sent to the current client instead (it
    /// never reached the failed one), its slot retagged with the current client's topic. When
    /// the current client is the failed one, it is replaced first (ClientRecovery::recover:
    /// the consumer of a ring that produces is the poll thread). Returns librdkafka's answer,
    /// or the fatal error when no working client can be had now.
    rd_kafka_resp_err_t send_to_current(Ring::Slot& slot) noexcept;

    ClientRecovery& clients_;
    DeliveryReports& reports_;
    std::atomic<bool> purging_{false};
    std::atomic<bool> stopping_{false};
};

}  // namespace kafka_log::detail
