// SPDX-License-Identifier: Apache-2.0
#include "delivery_reports.hpp"

#include <utility>

namespace kafka_log::detail {

void DeliveryReports::set_delivery_handler(DeliveryHandler handler) {
    std::lock_guard lock(handlers_mutex_);
    delivery_handler_ = std::move(handler);
}

void DeliveryReports::set_cluster_state_handler(ClusterStateHandler handler) {
    std::lock_guard lock(handlers_mutex_);
    state_handler_ = std::move(handler);
    // librdkafka says "all brokers down" once per transition: a handler installed after it
    // (the cluster was down at start-up) must still learn it.
    if (state_handler_ && unreachable_.load(std::memory_order_acquire)) {
        try {
            state_handler_(ClusterState::unreachable);
        } catch (...) {
        }
    }
}

void DeliveryReports::deliver(const MessageView& record, std::optional<DeliveryError> error,
                              std::int64_t offset) noexcept {
    if (!error && offset < 0) {
        // One writer (the serving thread): a load and a store, no locked instruction.
        delivered_without_offset_.store(
            delivered_without_offset_.load(std::memory_order_relaxed) + 1,
            std::memory_order_relaxed);
    }
    {
        std::lock_guard lock(handlers_mutex_);
        if (delivery_handler_) {
            try {
                delivery_handler_(DeliveryReport{record, std::move(error), offset});
            } catch (...) {
                // A handler must not throw; the report is still counted as served.
            }
        }
    }
    count_served(record.payload.size());
}

void DeliveryReports::all_brokers_down() noexcept {
    unreachable_.store(true, std::memory_order_release);
    call_state_handler(ClusterState::unreachable);
}

void DeliveryReports::call_state_handler(ClusterState state) noexcept {
    std::lock_guard lock(handlers_mutex_);
    if (!state_handler_) return;
    try {
        state_handler_(state);
    } catch (...) {
    }
}

}  // namespace kafka_log::detail
