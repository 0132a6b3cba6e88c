// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/kafka_writer.hpp"

#include <time.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "../detail/callback_scope.hpp"
#include "../detail/fork_generation.hpp"
#include "../detail/lost_line.hpp"
#include "../detail/thread_number.hpp"

namespace kafka_log {

namespace {

/// The sequence of thread numbers that picks a thread's counter stripe.
struct WriterStripeSequence {};

/// The breaker's clock: monotonic, to the kernel's tick (1–4 ms), which its deadlines (100 ms
/// and up) do not notice. An open breaker reads it for every record it turns away, and the
/// coarse clock costs a fifth of the precise one (no TSC read, none of a VM's clock exits).
std::int64_t now_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

KafkaWriter::KafkaWriter(std::shared_ptr<AsyncProducer> producer,
                         std::shared_ptr<FallbackWriter> fallback, WriterOptions options)
    : producer_(std::move(producer)), fallback_(std::move(fallback)), options_(std::move(options)) {
    if (!producer_) throw std::invalid_argument("kafka_log::KafkaWriter: producer is null");
    if (!fallback_) throw std::invalid_argument("kafka_log::KafkaWriter: fallback is null");
    if (options_.topic.empty()) {
        throw std::invalid_argument("kafka_log::KafkaWriter: WriterOptions::topic is empty");
    }
    if (options_.breaker_backoff.count() <= 0 || options_.breaker_max_backoff < options_.breaker_backoff) {
        throw std::invalid_argument(
            "kafka_log::KafkaWriter: WriterOptions::breaker_backoff must be > 0 and <= breaker_max_backoff");
    }
    backoff_ns_.store(std::chrono::nanoseconds(options_.breaker_backoff).count());
    fork_generation_ = detail::fork_generation();
    producer_->set_delivery_handler([this](const DeliveryReport& report) { on_delivery(report); });
    if (options_.breaker_enabled) {
        producer_->set_cluster_state_handler([this](ClusterState state) { on_cluster_state(state); });
    }
    spool_ = std::dynamic_pointer_cast<SpoolFallback>(fallback_);
    journal_ = spool_ && spool_->options().journal;
    if (spool_ && spool_->options().replay_rate > 0) {
        SpoolDrainOptions drain_options;
        drain_options.rate = spool_->options().replay_rate;
        drain_ = std::make_unique<SpoolDrain>(spool_, producer_, std::move(drain_options), [this] {
            // Everything while the breaker is closed; one record when its probe is due (a
            // writer with no live records to probe with still finds the cluster back: a
            // replayed record that Kafka confirms closes the breaker).
            if (closing_.load(std::memory_order_acquire)) return SpoolDrain::Permit::none;
            const std::int64_t until = open_until_.load(std::memory_order_acquire);
            if (until == 0) return SpoolDrain::Permit::all;
            return now_ns() >= until ? SpoolDrain::Permit::one : SpoolDrain::Permit::none;
        });
        drain_->start();
    }
}

KafkaWriter::~KafkaWriter() {
    try {
        close(options_.close_timeout);
    } catch (...) {
        // A destructor must not throw; close() already accounted every record it could.
    }
    fallback_->detach(loss_listener_);  // the fallback may outlive us
}

KafkaWriter::Stripe& KafkaWriter::my_stripe() noexcept {
    return stripes_[detail::thread_number<WriterStripeSequence>() % stripe_count];
}

void KafkaWriter::count_submitted() noexcept {
    Stripe& s = my_stripe();
    std::lock_guard lock(s.mutex);
    ++s.submitted;
    ++s.in_flight;
}

void KafkaWriter::count_outcome(Bucket bucket, bool possibly_persisted) noexcept {
    Stripe& s = my_stripe();
    std::lock_guard lock(s.mutex);
    --s.in_flight;
    ++s.buckets[static_cast<unsigned>(bucket)];
    if (possibly_persisted) ++s.possibly_persisted;
}

KafkaWriter::Bucket KafkaWriter::bucket_of(FallbackReason reason) noexcept {
    switch (reason) {
        case FallbackReason::queue_full: return Bucket::fallback_queue_full;
        case FallbackReason::too_large: return Bucket::fallback_too_large;
        case FallbackReason::delivery_failed: return Bucket::fallback_delivery_failed;
        case FallbackReason::closed: return Bucket::fallback_closed;
        case FallbackReason::unreachable: return Bucket::fallback_unreachable;
        case FallbackReason::reentrant: return Bucket::fallback_reentrant;
        case FallbackReason::in_flight: break;  // a journal copy's reason, never a record's bucket
    }
    return Bucket::fallback_delivery_failed;
}

void KafkaWriter::on_fallback_loss(FallbackReason reason, std::uint64_t records) noexcept {
    // Records the fallback stored and then could not keep: from their bucket to `lost`, in
    // one step, so the identity holds at every moment.
    Stripe& s = my_stripe();
    std::lock_guard lock(s.mutex);
    s.buckets[static_cast<unsigned>(bucket_of(reason))] -= records;  // a stripe's share may wrap; the sum does not
    s.buckets[static_cast<unsigned>(Bucket::lost)] += records;
}

void KafkaWriter::to_fallback(const MessageView& message, FallbackReason reason, bool possibly_persisted,
                              int error) noexcept {
    const FallbackRecord record{.topic = message.topic,
                                .key = message.key,
                                .payload = message.payload,
                                .reason = reason,
                                .possibly_persisted = possibly_persisted,
                                .error = error};
    if (fallback_->write(record, &loss_listener_)) {
        count_outcome(bucket_of(reason), possibly_persisted);
    } else {
        detail::write_lost_line(message.payload);
        count_outcome(Bucket::lost, possibly_persisted);
    }
}

void KafkaWriter::submit_to_fallback(const MessageView& message, FallbackReason reason) noexcept {
    const FallbackRecord record{.topic = message.topic, .key = message.key, .payload = message.payload,
                                .reason = reason};
    Bucket bucket = bucket_of(reason);
    if (!fallback_->write(record, &loss_listener_)) {
        detail::write_lost_line(message.payload);
        bucket = Bucket::lost;
    }
    Stripe& s = my_stripe();
    std::lock_guard lock(s.mutex);
    ++s.submitted;
    ++s.buckets[static_cast<unsigned>(bucket)];
}

ProduceStatus KafkaWriter::produce_with_wait(const MessageView& message) noexcept {
    try {
        ProduceStatus status = producer_->produce(message);
        if (status != ProduceStatus::queue_full || options_.queue_full_max_wait.count() <= 0) {
            return status;
        }
        // Opt-in: wait, bounded, for room in the producer's queue.
        const auto deadline = std::chrono::steady_clock::now() + options_.queue_full_max_wait;
        std::chrono::microseconds pause{50};
        while (status == ProduceStatus::queue_full && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(pause);
            pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(5));
            status = producer_->produce(message);
        }
        return status;
    } catch (...) {
        // A producer that throws did not take the record; report it as a full queue so the
        // record goes to the fallback.
        return ProduceStatus::queue_full;
    }
}

// --- breaker ----------------------------------------------------------------------------

bool KafkaWriter::breaker_admits(bool& probe) noexcept {
    probe = false;
    const std::int64_t until = open_until_.load(std::memory_order_acquire);
    if (until == 0) return true;  // closed: the common case costs one load
    if (now_ns() < until) return false;
    // Half-open: exactly one record goes through as the probe.
    if (probe_in_flight_.exchange(true, std::memory_order_acq_rel)) return false;
    probe = true;
    return true;
}

void KafkaWriter::breaker_trip() noexcept {
    const std::int64_t backoff = backoff_ns_.load(std::memory_order_relaxed);
    open_until_.store(now_ns() + backoff, std::memory_order_release);
    probe_in_flight_.store(false, std::memory_order_release);
    const std::int64_t max = std::chrono::nanoseconds(options_.breaker_max_backoff).count();
    backoff_ns_.store(std::min(backoff * 2, max), std::memory_order_relaxed);
}

void KafkaWriter::breaker_reset() noexcept {
    if (open_until_.load(std::memory_order_acquire) == 0) return;
    backoff_ns_.store(std::chrono::nanoseconds(options_.breaker_backoff).count(), std::memory_order_relaxed);
    probe_in_flight_.store(false, std::memory_order_release);
    open_until_.store(0, std::memory_order_release);
}

void KafkaWriter::on_cluster_state(ClusterState state) noexcept {
    if (state == ClusterState::reachable) {
        breaker_reset();
        if (drain_) drain_->wake();
        return;
    }
    // Unreachable: open a closed breaker, or reopen a half-open one whose probe is out; an
    // open breaker keeps its deadline (repeated signals do not push it further away).
    const std::int64_t until = open_until_.load(std::memory_order_acquire);
    if (until == 0 || now_ns() >= until) breaker_trip();
}

// --- writing ----------------------------------------------------------------------------

void KafkaWriter::write(std::string_view payload, std::string_view key) noexcept {
    MessageView message{options_.topic, key, payload};
    if (closing_.load(std::memory_order_acquire) || detail::in_forked_child(fork_generation_)) {
        submit_to_fallback(message, FallbackReason::closed);
        return;
    }
    if (detail::in_producer_callback) {
        submit_to_fallback(message, FallbackReason::reentrant);
        return;
    }
    bool probe = false;
    if (options_.breaker_enabled && !breaker_admits(probe)) {
        submit_to_fallback(message, FallbackReason::unreachable);
        return;
    }
    count_submitted();
    if (journal_) {
        // Crash-safe: the copy is in the spool before the producer has the record; the delivery
        // report (or the fallback record below) settles it.
        message.token = spool_->journal(FallbackRecord{.topic = message.topic, .key = key, .payload = payload});
    }
    const ProduceStatus status = produce_with_wait(message);
    if (probe && status != ProduceStatus::accepted) breaker_trip();  // no probe went out: wait again
    if (status == ProduceStatus::accepted) return;  // the delivery report settles it
    FallbackReason reason = FallbackReason::delivery_failed;  // for an out-of-range status
    switch (status) {
        case ProduceStatus::accepted: break;
        case ProduceStatus::queue_full: reason = FallbackReason::queue_full; break;
        case ProduceStatus::too_large: reason = FallbackReason::too_large; break;
        case ProduceStatus::closed: reason = FallbackReason::closed; break;
    }
    to_fallback(message, reason);
    if (journal_) spool_->settle(message.token);  // after the fallback record: never neither
}

void KafkaWriter::on_delivery(const DeliveryReport& report) noexcept {
    if (drain_ && drain_->on_report(report)) {
        // A replayed record: the drain's, not a record of this writer's identity.
        if (!report.error) breaker_reset();
        return;
    }
    if (!report.error) {
        breaker_reset();
        count_outcome(Bucket::delivered, false);
        if (journal_) spool_->settle(report.message.token);
        return;
    }
    // A failure while half-open: treat it as the probe's, and wait longer.
    if (probe_in_flight_.load(std::memory_order_acquire) && !error_codes::is_purge(report.error->code)) {
        breaker_trip();
    }
    const FallbackReason reason = error_codes::is_purge(report.error->code) ? FallbackReason::closed
                                                                             : FallbackReason::delivery_failed;
    to_fallback(report.message, reason, report.error->possibly_persisted, report.error->code);
    if (journal_) spool_->settle(report.message.token);  // after the fallback record: never neither
}

bool KafkaWriter::flush(std::chrono::milliseconds timeout) {
    const bool producer_done = detail::in_forked_child(fork_generation_) || producer_->flush(timeout);
    const bool fallback_done = fallback_->flush();
    return producer_done && fallback_done;
}

void KafkaWriter::close(std::chrono::milliseconds timeout) {
    std::call_once(close_once_, [&] {
        closing_.store(true, std::memory_order_release);
        // The drain sends nothing more; what it has in flight is reported by the producer's
        // close below and stays in the spool, marked, unless Kafka confirmed it.
        if (drain_) drain_->stop();
        // In a forked child the producer's threads are the parent's: nothing to close here.
        if (!detail::in_forked_child(fork_generation_)) producer_->close(timeout);
        fallback_->flush();
    });
}

WriterStats KafkaWriter::stats() const {
    // Lock every stripe (always in the same order) so no transition is half-seen.
    std::array<std::unique_lock<StripeLock>, stripe_count> locks;
    for (std::size_t i = 0; i < stripe_count; ++i) {
        locks[i] = std::unique_lock(stripes_[i].mutex);
    }
    WriterStats out;
    std::int64_t in_flight = 0;
    for (const Stripe& s : stripes_) {
        out.submitted += s.submitted;
        in_flight += s.in_flight;
        out.possibly_persisted += s.possibly_persisted;
        out.delivered += s.buckets[static_cast<unsigned>(Bucket::delivered)];
        out.lost += s.buckets[static_cast<unsigned>(Bucket::lost)];
        out.fallback_queue_full += s.buckets[static_cast<unsigned>(Bucket::fallback_queue_full)];
        out.fallback_too_large += s.buckets[static_cast<unsigned>(Bucket::fallback_too_large)];
        out.fallback_delivery_failed +=
            s.buckets[static_cast<unsigned>(Bucket::fallback_delivery_failed)];
        out.fallback_closed += s.buckets[static_cast<unsigned>(Bucket::fallback_closed)];
        out.fallback_unreachable += s.buckets[static_cast<unsigned>(Bucket::fallback_unreachable)];
        out.fallback_reentrant += s.buckets[static_cast<unsigned>(Bucket::fallback_reentrant)];
    }
    out.in_flight = static_cast<std::uint64_t>(in_flight);
    for (auto& lock : locks) lock.unlock();
    if (spool_) {
        const SpoolStats spool = spool_->stats();
        out.spooled = spool.held;
        if (journal_) out.journal_open = spool.journaled - std::min(spool.journaled, spool.settled);
    }
    if (drain_) {
        const SpoolDrainStats d = drain_->stats();
        out.replayed = d.replayed;
        out.replay_failures = d.failures;
    }
    return out;
}

SpoolDrainStats KafkaWriter::drain_stats() const { return drain_ ? drain_->stats() : SpoolDrainStats{}; }

}  // namespace kafka_log
