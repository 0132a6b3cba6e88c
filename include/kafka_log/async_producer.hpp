// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief The producer interface every Kafka client of kafka_log sits behind.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "kafka_log/export.hpp"

namespace kafka_log {

/// \brief One Kafka record header: a name and its value bytes (non-owning views).
struct RecordHeader {
    std::string_view name;
    std::string_view value;
};

/// \brief A record as handed to a producer: non-owning views.
///
/// An empty `key` means "no key" (the partitioner picks the partition).
struct MessageView {
    std::string_view topic;
    std::string_view key;
    std::string_view payload;
    /// Kafka record headers, in order (a name may repeat). Empty: none.
    std::span<const RecordHeader> headers{};
    /// The record's time, ms since the Unix epoch; 0: the producer stamps its own clock.
    std::int64_t timestamp_ms = 0;
    /// A number the producer hands back unchanged in this record's DeliveryReport and sends
    /// nowhere (KafkaWriter's journal finds the record's spooled copy by it). Values below
    /// 2^62; 0: none.
    std::uint64_t token = 0;
};

/// \brief What `AsyncProducer::produce` did with a record.
///
/// Anything but `accepted` means the producer did not take the record and will never report
/// on it: the caller owns it and sends it to its fallback.
enum class ProduceStatus {
    accepted,    ///< Taken; exactly one DeliveryReport will follow.
    queue_full,  ///< The producer's bounded queue is full.
    too_large,   ///< The record exceeds the producer's size limit.
    closed,      ///< `close()` was called; the producer takes nothing any more.
};

/// \brief The name of a ProduceStatus ("accepted", "queue_full", ...).
KAFKA_LOG_EXPORT std::string_view to_string(ProduceStatus status) noexcept;

/// \brief Why an accepted record did not reach Kafka.
struct DeliveryError {
    /// Error code; librdkafka's `rd_kafka_resp_err_t` for the real producer, see
    /// `kafka_log::error_codes` for the codes kafka_log itself gives meaning to.
    int code = 0;
    /// Human-readable reason (never contains a secret).
    std::string reason;
    /// True when the broker may have written the record even so (for example a request
    /// timed out after it was sent). A fallback copy of such a record may duplicate it.
    bool possibly_persisted = false;
};

/// \brief Error codes with a meaning of their own for kafka_log's writer and mocks.
///
/// The purge and timeout codes equal librdkafka's, so a report from the real producer and
/// one scripted in a test read the same.
namespace error_codes {
inline constexpr int purged_in_flight = -151;     ///< Purged by close() after it was sent.
inline constexpr int purged_queue = -152;         ///< Purged by close() before it was sent.
inline constexpr int message_timed_out = -192;    ///< `message.timeout.ms` expired.
inline constexpr int transport = -195;            ///< Broker connection failed.
inline constexpr int all_brokers_down = -187;     ///< No broker is reachable.
inline constexpr int producer_rejected = -10000;  ///< produce() refused for another reason.
inline constexpr int mock_unexpected = -10001;    ///< Mock: input arrived with no expectation left.
inline constexpr int mock_checker_failed = -10002;  ///< Mock: the expectation's checker said no.

/// \brief True for the codes a producer reports for records purged by `close()`.
constexpr bool is_purge(int code) noexcept {
    return code == purged_in_flight || code == purged_queue;
}
}  // namespace error_codes

/// \brief The outcome of one accepted record.
///
/// `message` views the producer's own copy and is valid only during the handler call.
struct DeliveryReport {
    MessageView message;
    std::optional<DeliveryError> error;  ///< Empty: the record is on Kafka.
    /// The record's offset in its partition when the broker's answer gave one; -1 otherwise: a
    /// failed record, a producer that does not tell (the mocks), or a confirmation without an
    /// answer of its own (see `ClientStats::delivered_without_offset`).
    std::int64_t offset = -1;
};

/// \brief Receives one report per accepted record, on a producer thread.
///
/// It must not log through a logger that feeds the same producer (no recursion into the
/// sink), must not throw, and should return quickly.
using DeliveryHandler = std::function<void(const DeliveryReport&)>;

/// \brief Whether the producer can reach the cluster, as far as it knows.
enum class ClusterState {
    reachable,    ///< A broker answered (a record was delivered, a connection came up).
    unreachable,  ///< No broker is reachable at the moment.
};

/// \brief Told when the producer learns the cluster became (un)reachable; runs on a producer
/// thread, under the same rules as a DeliveryHandler.
using ClusterStateHandler = std::function<void(ClusterState)>;

/// \brief What a producer's client reports of itself (librdkafka's statistics, see
/// `RdKafkaProducer` and `statistics.interval.ms`): all zero from a producer that cannot tell,
/// or before the first report.
struct ClientStats {
    /// Statistics documents received and read (0: statistics are off, or none came yet).
    std::uint64_t reports = 0;
    /// Documents that could not be read (not well-formed JSON): ignored, counted here.
    std::uint64_t malformed_reports = 0;
    /// Exceptions the user's statistics callback threw (caught; the first is printed).
    std::uint64_t callback_failures = 0;
    /// Records in the client's queue at the last report, in flight included (`msg_cnt`).
    std::uint64_t queue_records = 0;
    /// Their bytes (`msg_size`).
    std::uint64_t queue_bytes = 0;
    /// The largest over the brokers of their average request round trip in the last
    /// statistics interval, microseconds (`brokers.*.rtt.avg`; 0: no request in the interval).
    std::uint64_t broker_rtt_avg_us = 0;
    /// The largest over the brokers of their 99th percentile round trip, microseconds
    /// (`brokers.*.rtt.p99`).
    std::uint64_t broker_rtt_p99_us = 0;
    /// Records reported delivered without an offset, counted as the reports come (statistics
    /// off or on). librdkafka's idempotent producer confirms a record so when a request of its
    /// partition failed with a retriable error and a later one succeeded (an implicit
    /// acknowledgement: a broker that checks sequence numbers, as Kafka does, accepts the later
    /// request only after the earlier records), or when the broker answers that it has the
    /// batch already. `EmbeddedCluster` does not check them: there such records may be missing
    /// from the topic (docs/reliability.md, "What the embedded cluster does not check").
    std::uint64_t delivered_without_offset = 0;
};

/// \brief An asynchronous Kafka producer: non-blocking produce, one report per record.
///
/// Implementations: `RdKafkaProducer` (librdkafka), `mocks::MockAsyncProducer` (scripted) and
/// `mocks::GMockAsyncProducer` (gMock).
///
/// Thread safety: `produce`, `flush` and `close` may be called from any thread concurrently.
/// `set_delivery_handler` is called once, before the first `produce`. The handler runs on a
/// thread of the producer's choosing (possibly inside `produce` for a synchronous mock).
class KAFKA_LOG_EXPORT AsyncProducer {
public:
    AsyncProducer() = default;
    AsyncProducer(const AsyncProducer&) = delete;
    AsyncProducer& operator=(const AsyncProducer&) = delete;
    virtual ~AsyncProducer();

    /// \brief Installs the handler that receives every delivery report. Call once, first.
    virtual void set_delivery_handler(DeliveryHandler handler) = 0;

    /// \brief Offers one record; never waits on the network.
    ///
    /// Copies topic, key and payload before returning: the caller may reuse its buffers at
    /// once. Possible failures: `queue_full`, `too_large`, `closed` (the record was not
    /// taken and no report follows).
    virtual ProduceStatus produce(const MessageView& message) = 0;

    /// \brief Waits up to `timeout` for every accepted record to be reported.
    /// \return true when nothing is in flight any more.
    virtual bool flush(std::chrono::milliseconds timeout) = 0;

    /// \brief Flushes up to `timeout`, then purges what is left; each purged record gets its
    /// failure report (`error_codes::purged_*`) before `close` returns. Idempotent; after it
    /// `produce` returns `closed`.
    virtual void close(std::chrono::milliseconds timeout) = 0;

    /// \brief Optional: installs a handler told about cluster reachability (KafkaWriter's
    /// breaker uses it). Call once, before the first `produce`. The default implementation
    /// keeps no handler: a producer that cannot tell never calls it.
    virtual void set_cluster_state_handler(ClusterStateHandler handler);

    /// \brief Optional: the client's own figures (KafkaWriter copies them into its stats).
    /// The default implementation returns all zeros. Thread safety: any thread.
    virtual ClientStats client_stats() const;
};

}  // namespace kafka_log
