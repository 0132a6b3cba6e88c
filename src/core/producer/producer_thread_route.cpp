// SPDX-License-Identifier: Apache-2.0
#include "producer_thread_route.hpp"

#include <thread>

namespace kafka_log::detail {

ProducerThreadRoute::ProducerThreadRoute(Shared shared, const QueueLimits& limits,
                                         std::size_t ring_slots) noexcept
    : clients_(shared.clients),
      handover_(shared.handover),
      in_flight_(shared.in_flight),
      max_record_bytes_(limits.max_record_bytes),
      credit_(limits.max_records, limits.max_bytes),
      lanes_(ring_slots),
      batches_(shared.clients, shared.reports) {}

ProducerThreadRoute::Drained ProducerThreadRoute::drain_round(bool purge, bool wait) noexcept {
    Drained drained;
    lanes_.for_each_ring([&](Ring& ring) {
        const HandoffBatches::Outcome outcome = batches_.send_batch(ring, purge, wait);
        drained.taken += outcome.taken;
        drained.passed_busy = drained.passed_busy || outcome.passed_busy;
    });
    return drained;
}

void ProducerThreadRoute::yield_thread() noexcept {
    std::this_thread::yield();
}

}  // namespace kafka_log::detail
