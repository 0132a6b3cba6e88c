// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/kafka_writer.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace kafka_log {

namespace {

/// The last resort for a record neither Kafka nor the fallback took: one writev to fd 2,
/// so the line is not split by other writers of stderr.
void write_to_stderr(std::string_view payload) noexcept {
    static constexpr std::string_view prefix = "kafka_log[lost]: ";
    const bool add_newline = payload.empty() || payload.back() != '\n';
    char newline = '\n';
    iovec parts[3] = {{const_cast<char*>(prefix.data()), prefix.size()},
                      {const_cast<char*>(payload.data()), payload.size()},
                      {&newline, 1}};
    [[maybe_unused]] const ssize_t n = ::writev(STDERR_FILENO, parts, add_newline ? 3 : 2);
}

std::size_t next_stripe_index() noexcept {
    static std::atomic<std::size_t> next{0};
    return next.fetch_add(1, std::memory_order_relaxed);
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
    producer_->set_delivery_handler([this](const DeliveryReport& report) { on_delivery(report); });
}

KafkaWriter::~KafkaWriter() {
    try {
        close(options_.close_timeout);
    } catch (...) {
        // A destructor must not throw; close() already accounted every record it could.
    }
}

KafkaWriter::Stripe& KafkaWriter::my_stripe() noexcept {
    thread_local const std::size_t index = next_stripe_index();
    return stripes_[index % stripe_count];
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

void KafkaWriter::to_fallback(std::string_view payload, Bucket bucket,
                              bool possibly_persisted) noexcept {
    if (fallback_->write(payload)) {
        count_outcome(bucket, possibly_persisted);
    } else {
        write_to_stderr(payload);
        count_outcome(Bucket::lost, possibly_persisted);
    }
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

void KafkaWriter::write(std::string_view payload, std::string_view key) noexcept {
    count_submitted();
    if (closing_.load(std::memory_order_acquire)) {
        to_fallback(payload, Bucket::fallback_closed, false);
        return;
    }
    switch (produce_with_wait(MessageView{options_.topic, key, payload})) {
        case ProduceStatus::accepted: return;  // the delivery report settles it
        case ProduceStatus::queue_full: to_fallback(payload, Bucket::fallback_queue_full, false); return;
        case ProduceStatus::too_large: to_fallback(payload, Bucket::fallback_too_large, false); return;
        case ProduceStatus::closed: to_fallback(payload, Bucket::fallback_closed, false); return;
    }
    to_fallback(payload, Bucket::fallback_delivery_failed, false);  // an out-of-range status
}

void KafkaWriter::on_delivery(const DeliveryReport& report) noexcept {
    if (!report.error) {
        count_outcome(Bucket::delivered, false);
        return;
    }
    const Bucket bucket = error_codes::is_purge(report.error->code) ? Bucket::fallback_closed
                                                                     : Bucket::fallback_delivery_failed;
    to_fallback(report.message.payload, bucket, report.error->possibly_persisted);
}

bool KafkaWriter::flush(std::chrono::milliseconds timeout) {
    const bool producer_done = producer_->flush(timeout);
    const bool fallback_done = fallback_->flush();
    return producer_done && fallback_done;
}

void KafkaWriter::close(std::chrono::milliseconds timeout) {
    std::call_once(close_once_, [&] {
        closing_.store(true, std::memory_order_release);
        producer_->close(timeout);
        fallback_->flush();
    });
}

WriterStats KafkaWriter::stats() const {
    // Lock every stripe (always in the same order) so no transition is half-seen.
    std::array<std::unique_lock<std::mutex>, stripe_count> locks;
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
    }
    out.in_flight = static_cast<std::uint64_t>(in_flight);
    return out;
}

}  // namespace kafka_log
