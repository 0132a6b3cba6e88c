// SPDX-License-Identifier: Apache-2.0
#pragma once

// ProducerThreadRoute: ProduceOn::producer_thread. produce() answers `queue_full` and
// `too_large` on the calling thread with librdkafka's own limits (QueueCredit, message.max
// .bytes), copies a plain record into its lane's hand-off ring and wakes the poll thread if it
// sleeps; the poll thread takes the rings' records into librdkafka in batches (HandoffBatches),
// one per ring in turn, and serves reports after each round.
// A thread that finds its ring full makes room itself, oldest first; a record no ring takes is
// handed over directly (DirectHandover). Records with headers or a timestamp of their own go
// through the ring too, and keep their place among the thread's records.
//
// Thread safety: produce() from any thread; serve_once() and the closing steps from the
// serving thread (see RdKafkaProducerImpl).

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "client_handle.hpp"
#include "client_recovery.hpp"
#include "delivery_reports.hpp"
#include "direct_handover.hpp"
#include "handoff_batches.hpp"
#include "handoff_lanes.hpp"
#include "in_flight_count.hpp"
#include "queue_credit.hpp"
#include "topic_cache.hpp"

namespace kafka_log::detail {

class ProducerThreadRoute {
public:
    /// The parts it shares with the producer; they outlive the route.
    struct Shared {
        ClientRecovery& clients;
        DirectHandover& handover;
        InFlightCount& in_flight;
        DeliveryReports& reports;
    };

    ProducerThreadRoute(Shared shared, const QueueLimits& limits, std::size_t ring_slots) noexcept;

    ProducerThreadRoute(const ProducerThreadRoute&) = delete;
    ProducerThreadRoute& operator=(const ProducerThreadRoute&) = delete;

    /// Offers a record counted in on `stripe` (also its credit stripe and its lane).
    ProduceStatus produce(std::size_t stripe, const MessageView& record) {
        const std::uint64_t bytes = record.payload.size();
        // librdkafka's own checks, made here so their answer reaches the caller at once.
        std::size_t size = record.payload.size() + record.key.size() + record_overhead;
        for (const RecordHeader& h : record.headers)
            size += h.name.size() + h.value.size() + header_overhead;
        if (size > max_record_bytes_) {
            in_flight_.count_out(1);
            return ProduceStatus::too_large;
        }
        if (!credit_.take(stripe, bytes)) {
            in_flight_.count_out(1);
            return ProduceStatus::queue_full;
        }
        ClientSession& session = clients_.current();
        rd_kafka_topic_t* topic = session.topics().handle(record.topic);
        if (topic != nullptr) {
            if (Ring* ring = lanes_.ring(stripe)) {
                const HandoffTag tag{topic, record.token};
                if (ring->try_push(tag, record.payload, record.key, record.headers,
                                   record.timestamp_ms)) {
                    wake_poll_thread();
                    return ProduceStatus::accepted;
                }
                // The ring is full: this thread empties some of it, oldest first, and queues its
                // record behind. When it cannot (the poll thread is busy with this ring), it hands
                // its record over directly, maybe ahead of older ones of its own.
                const bool room = batches_.help_send(*ring);
                const bool queued = room && ring->try_push(tag, record.payload, record.key,
                                                           record.headers, record.timestamp_ms);
                wake_poll_thread();  // for its record, or for those librdkafka refused to help_send
                if (queued) return ProduceStatus::accepted;
            }
        }
        // Its credit goes back with its report, or at once when it is refused.
        return handover_.hand_over(session.client(), topic, record,
                                   [&]() noexcept { credit_.give_back(stripe, bytes); });
    }

    /// One turn of the poll thread: hand the rings' records to librdkafka until they are
    /// empty, serving callbacks and `settle_served()` after each round; sleep in rd_kafka_poll
    /// when every ring is empty.
    template <typename SettleServed>
    void serve_once(SettleServed&& settle_served) noexcept {
        // Reports are served after every round, not once the rings run dry: while logging
        // threads keep them full, the records librdkafka delivered give their queue credit
        // and their memory back a batch at a time, instead of piling up until the threads
        // pause.
        Drained drained;
        for (;;) {
            const Drained round = drain_round(false, false);
            drained.passed_busy = drained.passed_busy || round.passed_busy;
            if (round.taken == 0) break;
            drained.taken += round.taken;
            rd_kafka_poll(clients_.get(), 0);
            settle_served();
        }
        if (drained.taken > 0) return;
        if (drained.passed_busy) {
            // A logging thread is emptying a ring (one batch): let it run, then look again.
            rd_kafka_poll(clients_.get(), 0);
            settle_served();
            yield_thread();
            return;
        }
        settle_served();
        // Idle: announce the wait, then look once more. A producer installs its lane's ring and
        // reserves its slot (seq_cst) before it reads sleeping_, so either we see its slot here
        // or it sees us asleep and wakes us with rd_kafka_yield().
        sleeping_.store(true, std::memory_order_seq_cst);
        if (lanes_.empty()) rd_kafka_poll(clients_.get(), 100);
        sleeping_.store(false, std::memory_order_relaxed);
        settle_served();
    }

    /// Reports served: their records left librdkafka's queue, their credit returns.
    void return_credit(const DeliveryReports::Served& served) noexcept {
        credit_.return_to_pool(served.records, served.bytes);
    }

    /// close() gave up waiting: ring records are reported purged from now on.
    void purge_from_now() noexcept { batches_.purge_from_now(); }
    /// The poll thread is stopping: a record librdkafka finds no room for is not retried.
    void stop_retrying() noexcept { batches_.stop_retrying(); }
    /// After the poll thread left: reports what a late produce() left in a ring as purged.
    void report_leftovers_purged() noexcept {
        while (drain_round(true, true).taken > 0) {
        }
    }

private:
    using Ring = HandoffLanes<HandoffTag>::Ring;

    /// The most a record adds to its key and value on the wire (record format v2: varint
    /// length, attributes, timestamp delta, offset delta, key length, value length, header
    /// count), which librdkafka counts against `message.max.bytes`.
    static constexpr std::size_t record_overhead = 5 + 1 + 10 + 5 + 5 + 5 + 5;
    /// The most a header adds to its name and value: two varint lengths.
    static constexpr std::size_t header_overhead = 5 + 5;

    struct Drained {
        std::size_t taken = 0;
        bool passed_busy = false;  // a ring a logging thread was emptying was passed over
    };
    /// A batch from each lane in turn, so a busy thread does not hold back another's records.
    Drained drain_round(bool purge, bool wait) noexcept;

    void wake_poll_thread() noexcept {
        if (sleeping_.load(std::memory_order_seq_cst) &&
            sleeping_.exchange(false, std::memory_order_acq_rel)) {
            rd_kafka_yield(clients_.get());
        }
    }
    static void yield_thread() noexcept;

    const ClientRecovery& clients_;
    DirectHandover& handover_;
    InFlightCount& in_flight_;
    const std::uint64_t max_record_bytes_;
    QueueCredit credit_;
    HandoffLanes<HandoffTag> lanes_;
    HandoffBatches batches_;
    alignas(64) std::atomic<bool> sleeping_{false};  // the poll thread waits in rd_kafka_poll
};

}  // namespace kafka_log::detail
