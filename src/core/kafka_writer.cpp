// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/kafka_writer.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <span>
#include <stdexcept>
#include <thread>

#include "../detail/callback_scope.hpp"
#include "../detail/fork_generation.hpp"
#include "../detail/lost_line.hpp"
#include "writer/breaker.hpp"
#include "writer/striped_counters.hpp"

namespace kafka_log {

using detail::Outcome;

namespace {

Outcome outcome_of(FallbackReason reason) noexcept {
    switch (reason) {
        case FallbackReason::queue_full:
            return Outcome::fallback_queue_full;
        case FallbackReason::too_large:
            return Outcome::fallback_too_large;
        case FallbackReason::delivery_failed:
            return Outcome::fallback_delivery_failed;
        case FallbackReason::closed:
            return Outcome::fallback_closed;
        case FallbackReason::unreachable:
            return Outcome::fallback_unreachable;
        case FallbackReason::reentrant:
            return Outcome::fallback_reentrant;
        case FallbackReason::in_flight:
            break;  // a journal copy's reason, never a record's bucket
    }
    return Outcome::fallback_delivery_failed;
}

FallbackReason reason_of(ProduceStatus status) noexcept {
    switch (status) {
        case ProduceStatus::accepted:
            break;
        case ProduceStatus::queue_full:
            return FallbackReason::queue_full;
        case ProduceStatus::too_large:
            return FallbackReason::too_large;
        case ProduceStatus::closed:
            return FallbackReason::closed;
    }
    return FallbackReason::delivery_failed;  // for an out-of-range status
}

const WriterOptions& checked(const WriterOptions& options) {
    if (options.topic.empty()) {
        throw std::invalid_argument("kafka_log::KafkaWriter: WriterOptions::topic is empty");
    }
    if (options.breaker_backoff.count() <= 0 ||
        options.breaker_max_backoff < options.breaker_backoff) {
        throw std::invalid_argument(
            "kafka_log::KafkaWriter: WriterOptions::breaker_backoff must be > 0 and <= "
            "breaker_max_backoff");
    }
    return options;
}

}  // namespace

/// The writer's state: the producer and fallback it routes between, the breaker, the
/// counters, and the spool's drain. It is also the listener the fallback tells of losses.
struct KAFKA_LOG_NO_EXPORT KafkaWriter::Impl final : FallbackLossListener {
    Impl(std::shared_ptr<AsyncProducer> producer_in, std::shared_ptr<FallbackWriter> fallback_in,
         WriterOptions options_in)
        : producer(std::move(producer_in)),
          fallback(std::move(fallback_in)),
          options(std::move(options_in)),
          breaker(checked(options).breaker_backoff, options.breaker_max_backoff) {}
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() = default;

    void start();
    /// Both `write` overloads: produce the record, or send it to the fallback.
    void write_record(std::string_view payload, std::string_view key,
                      std::span<const RecordHeader> headers) noexcept;
    void on_delivery(const DeliveryReport& report) noexcept;
    void on_cluster_state(ClusterState state) noexcept;
    /// Writes to the fallback; counts the reason's bucket, or `lost` after the stderr last resort.
    void to_fallback(const MessageView& message, FallbackReason reason,
                     bool possibly_persisted = false, int error = 0) noexcept;
    /// A record `write` sends to the fallback at once (closed, reentrant, unreachable): stored
    /// first, then counted submitted and in its bucket together (one stripe lock, not two; the
    /// identity holds at every moment, as neither side has it until both do).
    void submit_to_fallback(const MessageView& message, FallbackReason reason) noexcept;
    ProduceStatus produce_with_wait(const MessageView& message) noexcept;
    /// Records the fallback stored and then could not keep: from their bucket to `lost`, in
    /// one step, so the identity holds at every moment.
    void on_fallback_loss(FallbackReason reason, std::uint64_t records) noexcept override {
        counters.move(outcome_of(reason), Outcome::lost, records);
    }

    std::shared_ptr<AsyncProducer> producer;
    std::shared_ptr<FallbackWriter> fallback;
    std::shared_ptr<SpoolFallback> spool;  // fallback, when it is a spool
    std::unique_ptr<SpoolDrain> drain;     // sends spool's records back (replay_rate > 0)
    bool journal = false;                  // spool keeps a journal copy of every record
    std::uint64_t fork_generation = detail::fork_generation();
    WriterOptions options;
    std::atomic<bool> closing{false};
    detail::Breaker breaker;
    std::once_flag close_once;
    detail::StripedCounters counters;
};

void KafkaWriter::Impl::start() {
    producer->set_delivery_handler([this](const DeliveryReport& report) { on_delivery(report); });
    if (options.breaker_enabled) {
        producer->set_cluster_state_handler(
            [this](ClusterState state) { on_cluster_state(state); });
    }
    spool = std::dynamic_pointer_cast<SpoolFallback>(fallback);
    journal = spool && spool->options().journal;
    if (!spool || spool->options().replay_rate <= 0) return;
    SpoolDrainOptions drain_options;
    drain_options.rate = spool->options().replay_rate;
    drain = std::make_unique<SpoolDrain>(spool, producer, std::move(drain_options), [this] {
        // Everything while the breaker is closed; one record when its probe is due (a writer
        // with no live records to probe with still finds the cluster back: a replayed record
        // that Kafka confirms closes the breaker).
        if (closing.load(std::memory_order_acquire)) return SpoolDrain::Permit::none;
        switch (breaker.state()) {
            case detail::Breaker::State::closed:
                return SpoolDrain::Permit::all;
            case detail::Breaker::State::probe_due:
                return SpoolDrain::Permit::one;
            case detail::Breaker::State::open:
                break;
        }
        return SpoolDrain::Permit::none;
    });
    drain->start();
}

KafkaWriter::KafkaWriter(std::shared_ptr<AsyncProducer> producer,
                         std::shared_ptr<FallbackWriter> fallback, WriterOptions options) {
    if (!producer) throw std::invalid_argument("kafka_log::KafkaWriter: producer is null");
    if (!fallback) throw std::invalid_argument("kafka_log::KafkaWriter: fallback is null");
    impl_ = std::make_unique<Impl>(std::move(producer), std::move(fallback), std::move(options));
    impl_->start();
}

KafkaWriter::~KafkaWriter() {
    try {
        close(impl_->options.close_timeout);
    } catch (...) {
        // A destructor must not throw; close() already accounted every record it could.
    }
    impl_->fallback->detach(*impl_);  // the fallback may outlive us
}

void KafkaWriter::Impl::to_fallback(const MessageView& message, FallbackReason reason,
                                    bool possibly_persisted, int error) noexcept {
    const FallbackRecord record{.topic = message.topic,
                                .key = message.key,
                                .headers = message.headers,
                                .payload = message.payload,
                                .reason = reason,
                                .possibly_persisted = possibly_persisted,
                                .error = error};
    if (fallback->write(record, this)) {
        counters.resolve(outcome_of(reason), possibly_persisted);
    } else {
        detail::write_lost_line(message.payload);
        counters.resolve(Outcome::lost, possibly_persisted);
    }
}

void KafkaWriter::Impl::submit_to_fallback(const MessageView& message,
                                           FallbackReason reason) noexcept {
    const FallbackRecord record{.topic = message.topic,
                                .key = message.key,
                                .headers = message.headers,
                                .payload = message.payload,
                                .reason = reason};
    Outcome outcome = outcome_of(reason);
    if (!fallback->write(record, this)) {
        detail::write_lost_line(message.payload);
        outcome = Outcome::lost;
    }
    counters.submit_resolved(outcome);
}

ProduceStatus KafkaWriter::Impl::produce_with_wait(const MessageView& message) noexcept {
    try {
        ProduceStatus status = producer->produce(message);
        if (status != ProduceStatus::queue_full || options.queue_full_max_wait.count() <= 0) {
            return status;
        }
        // Opt-in: wait, bounded, for room in the producer's queue.
        const auto deadline = std::chrono::steady_clock::now() + options.queue_full_max_wait;
        std::chrono::microseconds pause{50};
        while (status == ProduceStatus::queue_full && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(pause);
            pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(5));
            status = producer->produce(message);
        }
        return status;
    } catch (...) {
        // A producer that throws did not take the record; report it as a full queue so the
        // record goes to the fallback.
        return ProduceStatus::queue_full;
    }
}

void KafkaWriter::Impl::on_cluster_state(ClusterState state) noexcept {
    if (state == ClusterState::reachable) {
        breaker.reset();
        if (drain) drain->wake();
        return;
    }
    breaker.on_unreachable();
}

// --- writing ----------------------------------------------------------------------------

// The record path of both `write` overloads, inlined into each: the one without headers stays
// exactly what it was (an empty span costs nothing), the one with headers carries them into
// the producer, the journal copy and every fallback record.
[[gnu::always_inline]] inline void KafkaWriter::Impl::write_record(
    std::string_view payload, std::string_view key,
    std::span<const RecordHeader> headers) noexcept {
    Impl& s = *this;
    MessageView message{s.options.topic, key, payload, headers};
    if (s.closing.load(std::memory_order_acquire) || detail::in_forked_child(s.fork_generation)) {
        s.submit_to_fallback(message, FallbackReason::closed);
        return;
    }
    if (detail::in_producer_callback) {
        s.submit_to_fallback(message, FallbackReason::reentrant);
        return;
    }
    bool probe = false;
    if (s.options.breaker_enabled && !s.breaker.admits(probe)) {
        s.submit_to_fallback(message, FallbackReason::unreachable);
        return;
    }
    s.counters.submit();
    if (s.journal) {
        // Crash-safe: the copy is in the spool before the producer has the record; the delivery
        // report (or the fallback record below) settles it.
        message.token = s.spool->journal(FallbackRecord{
            .topic = message.topic, .key = key, .headers = headers, .payload = payload});
    }
    const ProduceStatus status = s.produce_with_wait(message);
    if (probe && status != ProduceStatus::accepted)
        s.breaker.trip();                           // no probe went out: wait again
    if (status == ProduceStatus::accepted) return;  // the delivery report settles it
    s.to_fallback(message, reason_of(status));
    if (s.journal) s.spool->settle(message.token);  // after the fallback record: never neither
}

void KafkaWriter::write(std::string_view payload, std::string_view key) noexcept {
    // The hottest path of the library: every record. One load reaches the writer's state.
    impl_->write_record(payload, key, {});
}

void KafkaWriter::write(std::string_view payload, std::string_view key,
                        std::span<const RecordHeader> headers) noexcept {
    impl_->write_record(payload, key, headers);
}

void KafkaWriter::Impl::on_delivery(const DeliveryReport& report) noexcept {
    if (drain && drain->on_report(report)) {
        // A replayed record: the drain's, not a record of this writer's identity.
        if (!report.error) breaker.reset();
        return;
    }
    if (!report.error) {
        breaker.reset();
        counters.resolve(Outcome::delivered, false);
        if (journal) spool->settle(report.message.token);
        return;
    }
    const bool purged = error_codes::is_purge(report.error->code);
    // A failure while half-open: treat it as the probe's, and wait longer.
    if (!purged) breaker.on_failure();
    const FallbackReason reason = purged ? FallbackReason::closed : FallbackReason::delivery_failed;
    to_fallback(report.message, reason, report.error->possibly_persisted, report.error->code);
    if (journal) spool->settle(report.message.token);  // after the fallback record: never neither
}

bool KafkaWriter::flush(std::chrono::milliseconds timeout) {
    const bool producer_done =
        detail::in_forked_child(impl_->fork_generation) || impl_->producer->flush(timeout);
    const bool fallback_done = impl_->fallback->flush();
    return producer_done && fallback_done;
}

void KafkaWriter::close(std::chrono::milliseconds timeout) {
    Impl& s = *impl_;
    std::call_once(s.close_once, [&] {
        s.closing.store(true, std::memory_order_release);
        // The drain sends nothing more; what it has in flight is reported by the producer's
        // close below and stays in the spool, marked, unless Kafka confirmed it.
        if (s.drain) s.drain->stop();
        // In a forked child the producer's threads are the parent's: nothing to close here.
        if (!detail::in_forked_child(s.fork_generation)) s.producer->close(timeout);
        s.fallback->flush();
    });
}

WriterStats KafkaWriter::stats() const {
    const detail::StripedCounters::Snapshot c = impl_->counters.snapshot();
    WriterStats out;
    out.submitted = c.submitted;
    out.in_flight = c.in_flight;
    out.possibly_persisted = c.possibly_persisted;
    out.delivered = c[Outcome::delivered];
    out.lost = c[Outcome::lost];
    out.fallback_queue_full = c[Outcome::fallback_queue_full];
    out.fallback_too_large = c[Outcome::fallback_too_large];
    out.fallback_delivery_failed = c[Outcome::fallback_delivery_failed];
    out.fallback_closed = c[Outcome::fallback_closed];
    out.fallback_unreachable = c[Outcome::fallback_unreachable];
    out.fallback_reentrant = c[Outcome::fallback_reentrant];
    if (impl_->spool) {
        const SpoolStats spool = impl_->spool->stats();
        out.spooled = spool.held;
        out.spool_bytes = spool.bytes_on_disk;
        if (impl_->journal) {
            out.journal_open = spool.journaled - std::min(spool.journaled, spool.settled);
        }
    }
    if (impl_->drain) {
        const SpoolDrainStats d = impl_->drain->stats();
        out.replayed = d.replayed;
        out.replay_failures = d.failures;
        out.replayed_possibly_duplicate = d.possibly_duplicate;
    }
    out.breaker_open = impl_->breaker.is_open();
    try {
        out.client = impl_->producer->client_stats();
    } catch (...) {
        // A producer whose figures cannot be had: the counts above are what matters.
    }
    return out;
}

SpoolDrainStats KafkaWriter::drain_stats() const {
    return impl_->drain ? impl_->drain->stats() : SpoolDrainStats{};
}

bool KafkaWriter::breaker_open() const noexcept {
    return impl_->breaker.is_open();
}

const std::string& KafkaWriter::topic() const noexcept {
    return impl_->options.topic;
}

}  // namespace kafka_log
