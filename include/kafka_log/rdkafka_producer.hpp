// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief RdKafkaProducer: the AsyncProducer on librdkafka.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>

#include "kafka_log/async_producer.hpp"
#include "kafka_log/export.hpp"
#include "kafka_log/producer_config.hpp"

namespace kafka_log {

namespace detail {
class RdKafkaProducerImpl;
}

/// \brief A line librdkafka logs (syslog levels: 0 emergency ... 7 debug).
using LogCallback = std::function<void(int level, std::string_view facility, std::string_view message)>;
/// \brief An error librdkafka reports outside any record (connection lost, all brokers down).
using ErrorCallback = std::function<void(int code, std::string_view reason)>;

/// \brief Which thread calls librdkafka's `rd_kafka_producev` for a record.
enum class ProduceOn {
    /// The record is copied into a bounded ring (one compare-and-swap, no lock; a warm ring
    /// does not allocate) and the producer's own thread hands it to librdkafka. The logging
    /// thread never waits on librdkafka's locks, and writes no cache line that a thread of
    /// another ring writes (see `RdKafkaOptions::handoff_slots`). When the ring is full, the
    /// calling thread hands the ring's oldest records (up to 256) to librdkafka itself, in
    /// order, and queues its own behind them: a burst is never sent to the fallback for want
    /// of ring slots, and a thread's records keep their order. Only when the producer thread
    /// is busy with that very ring for longer than a few scheduler yields does the calling
    /// thread hand its record over directly, possibly ahead of older ones of its own.
    producer_thread,
    /// `produce` calls `rd_kafka_producev` on the calling thread.
    calling_thread,
};

/// \brief Options of RdKafkaProducer.
struct RdKafkaOptions {
    /// Receives librdkafka's log lines, on the producer's poll thread. Empty: they go to
    /// stderr, at most 10 lines a second. Never route them into a sink fed by this producer
    /// expecting them on Kafka: records logged from a producer thread go to the fallback.
    LogCallback log_callback;
    /// Receives librdkafka's client-level errors, on the poll thread. Empty: stderr, rate-limited.
    ErrorCallback error_callback;
    /// How long the destructor lets `close()` flush before it purges.
    std::chrono::milliseconds close_timeout{5000};
    /// Which thread calls librdkafka; see ProduceOn.
    ProduceOn produce_on = ProduceOn::producer_thread;
    /// Slots of each hand-off ring (`ProduceOn::producer_thread`), rounded up to a power of
    /// two. Logging threads are spread over up to 8 rings in the order they first log (one
    /// each for the first 8), and a ring is made when its first record comes, so a process
    /// with one logging thread has one ring. A slot is 128 bytes and keeps its record's buffer
    /// (up to 4 KiB) for the next record: about 3 MiB a ring for 8192 slots of 200-byte
    /// records, at most about 33 MiB when every record is 4 KiB. Larger records are copied
    /// into a fresh buffer each time.
    std::size_t handoff_slots = 8192;
};

/// \brief The real producer: librdkafka's C API behind a pimpl.
///
/// Defaults applied unless the config sets the key (each chosen for logs):
/// - `enable.idempotence=true`: retries never duplicate or reorder a record on Kafka;
/// - `queue.buffering.max.messages=100000` and `queue.buffering.max.kbytes=65536`: a bounded
///   queue (64 MiB); when it is full, `produce` returns `queue_full` at once and the record goes
///   to the fallback, so a slow cluster costs memory only up to this bound;
/// - `message.timeout.ms=30000`: a record Kafka cannot take within 30 s is reported failed and
///   goes to the fallback, instead of librdkafka's 5 minutes in memory;
/// - `reconnect.backoff.max.ms=500`: after an outage the client tries a broker again at least
///   every 500 ms (librdkafka's own 10 s cap delayed the first record after an outage by
///   seconds);
/// - `client.id=kafka_log`.
/// `bootstrap.servers` is required.
///
/// One producer thread hands records to librdkafka (ProduceOn::producer_thread) and serves
/// every librdkafka callback: delivery reports, log lines (`log.queue` is used) and errors.
/// `possibly_persisted` comes from `rd_kafka_message_status`. `produce` decides `queue_full`
/// and `too_large` on the calling thread, with librdkafka's own rules: accepted records not
/// yet reported count against `queue.buffering.max.messages` and `queue.buffering.max.kbytes`
/// (each thread takes its share of the bound in chunks, one record's worth at a time near the
/// bound, and brings back what other threads hold idle before it refuses), and a record whose key, value and worst-case record overhead exceed `message.max.bytes` is
/// too large. Any other refusal (an unknown or unauthorized topic, a fatal producer error) is
/// reported through the delivery handler as a failure, so the caller's contract stays
/// "accepted, then one report".
///
/// Thread safety: `produce`, `flush` and `close` may be called from any thread. The delivery
/// handler, the cluster state handler and both callbacks run on the poll thread (and on the
/// thread calling `close`, for the reports `close` serves itself).
///
/// `fork()`: in a child process forked after the producer was made, its poll thread and
/// librdkafka's threads do not exist, so the producer does nothing that would need them:
/// `produce` returns `closed` without touching librdkafka (the caller keeps the record),
/// `flush` returns true at once (nothing of the child's is ever in flight; `in_flight()` is
/// 0), `close` returns at once without purging, the handler setters do nothing, and the
/// destructor deliberately leaks the producer (no join, no `rd_kafka_destroy`). Records the
/// parent had in flight at the fork are the parent's to report. A producer made in the child
/// itself works normally there.
class KAFKA_LOG_EXPORT RdKafkaProducer final : public AsyncProducer {
public:
    /// \throws ConfigError naming the key and librdkafka's message when a property is
    /// rejected, or when `bootstrap.servers` is missing. Secret values never appear in it.
    explicit RdKafkaProducer(ProducerConfig config, RdKafkaOptions options = {});
    /// \brief Closes with `RdKafkaOptions::close_timeout` if `close` was not called; in a
    /// forked child, leaks the producer instead (see the class comment).
    ~RdKafkaProducer() override;

    void set_delivery_handler(DeliveryHandler handler) override;
    void set_cluster_state_handler(ClusterStateHandler handler) override;
    /// \brief Offers one record; copies topic, key, payload and headers before returning.
    ///
    /// `message.headers` are sent as Kafka record headers, in order (a value may hold any
    /// byte, NUL included; an empty value is sent empty, not null), and a non-zero
    /// `message.timestamp_ms` as the record's create time (0: librdkafka stamps its clock).
    /// A hand-off ring carries topic, key and payload only, so with
    /// `ProduceOn::producer_thread` a record with headers or a timestamp of its own is handed
    /// to librdkafka by the calling thread: it may reach its partition ahead of older records
    /// of the same thread still in the ring. Records without either take the ring as before.
    ///
    /// Its delivery report carries the record's headers (views of librdkafka's copy, valid
    /// during the handler), on success and on failure. Its `timestamp_ms` is the one given
    /// here when non-zero; otherwise, for a delivered record, the one librdkafka stamped (or
    /// the broker's append time, for a topic with `message.timestamp.type=LogAppendTime`), and
    /// 0 for a failed one (librdkafka reports no timestamp for a failed record).
    ///
    /// Possible failures: `queue_full` (librdkafka's queue bound), `too_large`
    /// (`message.max.bytes`, headers included), `closed` (after `close`, or in a forked child).
    ProduceStatus produce(const MessageView& message) override;
    bool flush(std::chrono::milliseconds timeout) override;
    /// \brief Flushes up to `timeout`, purges queued and in-flight records and serves their
    /// failure reports before returning (bounded: `timeout` plus about a second).
    void close(std::chrono::milliseconds timeout) override;

    /// \brief The effective configuration (defaults included), secrets as `***`.
    std::string redacted_config() const;
    /// \brief True after librdkafka reported every broker down, until a record is delivered
    /// again. A cluster state handler installed while it is true is told so at once.
    bool cluster_unreachable() const noexcept;
    /// \brief Records accepted and not yet reported.
    std::uint64_t in_flight() const noexcept;

private:
    std::unique_ptr<detail::RdKafkaProducerImpl> impl_;
};

}  // namespace kafka_log
