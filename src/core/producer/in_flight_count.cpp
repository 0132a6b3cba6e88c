// SPDX-License-Identifier: Apache-2.0
#include "in_flight_count.hpp"

namespace kafka_log::detail {

bool InFlightCount::wait_until_idle(std::chrono::steady_clock::time_point deadline) {
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    bool idle = false;
    {
        std::unique_lock lock(idle_mutex_);
        idle = idle_cv_.wait_until(lock, deadline, [this] { return in_flight() == 0; });
    }
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    return idle;
}

void InFlightCount::wake_if_idle() noexcept {
    if (in_flight() != 0) return;
    std::lock_guard lock(idle_mutex_);
    idle_cv_.notify_all();
}

}  // namespace kafka_log::detail
