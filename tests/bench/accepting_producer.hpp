// SPDX-License-Identifier: Apache-2.0
#pragma once

// The producer of the benchmark's "mock" row: every record is accepted and reported
// delivered at once, on the producing thread, and nothing is kept. It does the same work
// per record as the load-test mode MockAsyncProducer used to have (a lock, a copy of the
// delivery handler, the report), so that row stays comparable with earlier results.

#include <chrono>
#include <mutex>
#include <optional>

#include "kafka_log/async_producer.hpp"

namespace kafka_log::bench {

/// \brief An AsyncProducer that delivers everything, for load tests of the layers above it.
///
/// Thread safety: every member may be called from any thread; the delivery handler runs on
/// the thread that called `produce`, before `produce` returns.
class AcceptingProducer final : public AsyncProducer {
public:
    void set_delivery_handler(DeliveryHandler handler) override {
        std::lock_guard lock(mutex_);
        handler_ = std::move(handler);
    }

    ProduceStatus produce(const MessageView& message) override {
        DeliveryHandler handler;
        {
            std::lock_guard lock(mutex_);
            if (closed_) return ProduceStatus::closed;
            handler = handler_;
        }
        if (handler) handler(DeliveryReport{message, std::nullopt});
        return ProduceStatus::accepted;
    }

    /// \brief Nothing is ever in flight.
    bool flush(std::chrono::milliseconds) override { return true; }

    void close(std::chrono::milliseconds) override {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }

private:
    std::mutex mutex_;
    DeliveryHandler handler_;
    bool closed_ = false;
};

}  // namespace kafka_log::bench
