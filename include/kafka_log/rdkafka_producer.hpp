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
struct RdKafkaProducerTestSeam;
}  // namespace detail

/// \brief A line librdkafka logs (syslog levels: 0 emergency ... 7 debug).
using LogCallback =
    std::function<void(int level, std::string_view facility, std::string_view message)>;
/// \brief An error librdkafka reports outside any record (connection lost, all brokers down).
using ErrorCallback = std::function<void(int code, std::string_view reason)>;
/// \brief One of librdkafka's statistics documents (JSON, see librdkafka's STATISTICS.md),
/// valid during the call.
using StatisticsCallback = std::function<void(std::string_view json)>;

/// \brief Which thread hands a record to librdkafka: a choice between the logging thread's
/// latency and the memory the producer holds.
enum class ProduceOn {
    /// `produce` copies the record into a bounded hand-off buffer of the calling thread's and
    /// returns; the producer's own thread passes it to librdkafka. A log call never waits on
    /// librdkafka's locks and stays short and steady when many threads log at once, at the
    /// cost of the buffers' memory (see `RdKafkaOptions::handoff_slots`) and one more thread
    /// at work while records flow.
    ///
    /// A burst larger than the buffer is not sent to the fallback: the logging thread then
    /// passes the buffer's oldest records to librdkafka itself and queues its own behind them,
    /// so its records keep their order. Only when the producer thread holds that buffer for
    /// longer than a few scheduler yields does the logging thread pass its record over
    /// directly, possibly ahead of older ones of its own. Records with headers or a timestamp
    /// of their own take the same way (the producer's thread hands each to librdkafka alone).
    producer_thread,
    /// `produce` hands the record to librdkafka on the calling thread: no hand-off memory, and
    /// no work for the producer thread but callbacks, but each log call pays for librdkafka's
    /// queue (and its lock, shared by every logging thread).
    calling_thread,
};

/// \brief Options of RdKafkaProducer.
struct RdKafkaOptions {
    /// Receives librdkafka's log lines, on the producer's poll thread. Empty: they go to
    /// stderr, at most 10 lines a second. Never route them into a sink fed by this producer
    /// expecting them on Kafka: records logged from a producer thread go to the fallback.
    LogCallback log_callback;
    /// Receives librdkafka's client-level errors, on the poll thread. Empty: stderr,
    /// rate-limited.
    ErrorCallback error_callback;
    /// How long the destructor lets `close()` flush before it purges.
    std::chrono::milliseconds close_timeout{5000};
    /// Which thread hands records to librdkafka; see ProduceOn.
    ProduceOn produce_on = ProduceOn::producer_thread;
    /// With `ProduceOn::producer_thread`: how many records a hand-off buffer holds (rounded up
    /// to a power of two, at least 2). More absorbs longer bursts before logging threads do
    /// the hand-off themselves; fewer holds less memory.
    ///
    /// There is one buffer for each of the first 8 threads that log (later threads share
    /// them), made when its thread logs its first record: a process with one logging thread
    /// has one. A buffer costs about 128 bytes a record plus the records' own size, which it
    /// keeps for reuse up to 4 KiB a record: about 3 MiB for 8192 records of 200 bytes, about
    /// 33 MiB when every record is 4 KiB. A larger record's copy is freed once handed over.
    std::size_t handoff_slots = 8192;
    /// Receives librdkafka's statistics, raw, every `statistics.interval.ms` (a property of
    /// the ProducerConfig; unset or 0, librdkafka's default: no statistics). It runs on a
    /// thread of its own, never on the thread serving delivery reports: a slow callback delays
    /// no report, and when it is still busy as a new document comes, only the newest waits for
    /// it. An exception it throws is caught and counted (`ClientStats::callback_failures`;
    /// the first is printed to stderr). With statistics on, the producer's `client_stats()`
    /// (and so `WriterStats::client`) carries the queue depth and the brokers' round trip of
    /// the newest document, with or without this callback.
    StatisticsCallback stats_callback;
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
/// (one bound for all threads together: a record is refused only when the queue is full),
/// and a record whose key, value and worst-case record overhead exceed `message.max.bytes` is
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
    /// With `ProduceOn::producer_thread`, a record with headers or a timestamp of its own
    /// takes the hand-off like any other and keeps its place among its thread's records; the
    /// producer thread hands it to librdkafka on its own (`rd_kafka_producev`), where records
    /// without either go in batches.
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
    /// \brief New librdkafka clients made after a fatal error of the one in use (an idempotent
    /// producer's OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, a fenced epoch...).
    ///
    /// On such an error the producer makes a new client with the same configuration and goes
    /// on producing with it; the records the failed client held are reported failed with the
    /// fatal error's code (`possibly_persisted` as librdkafka tells), so a KafkaWriter sends
    /// them to its fallback. Each recreation prints one line to stderr naming the error. When
    /// making the client fails, or fatal errors follow each other, the next try waits (1 s,
    /// doubling up to 60 s) and records go to the fallback meanwhile; after 16 recreations the
    /// producer makes no more. See docs/reliability.md.
    std::uint64_t recreations() const noexcept;
    /// \brief The figures of librdkafka's newest statistics document (all zero unless
    /// `statistics.interval.ms` is set); see ClientStats.
    ClientStats client_stats() const override;

private:
    friend struct detail::RdKafkaProducerTestSeam;  // tests reach the client (not exported)
    std::unique_ptr<detail::RdKafkaProducerImpl> impl_;
};

}  // namespace kafka_log
