// SPDX-License-Identifier: Apache-2.0
#pragma once

// DeliveryReports: the user's side of the producer's reports. It calls the delivery handler
// once per report and counts the reports served, calls the cluster state handler on each
// change, and remembers that the cluster is unreachable, so a handler installed later learns
// it at once.
//
// Thread safety: the setters and cluster_unreachable() may be called from any thread. The
// handlers run one at a time (one mutex), on the thread that calls deliver() or a cluster
// change. deliver() and take_served() are the serving thread's: one thread at a time (the
// producer's poll thread, then the thread closing the producer once that one is joined).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>

#include "kafka_log/async_producer.hpp"

namespace kafka_log::detail {

/// Cache lines of its own: the serving thread writes its mutex and its counts on every report,
/// and the members next to it in the producer (its fork generation, read by every produce())
/// must not move between cores with them.
class alignas(64) DeliveryReports {
public:
    /// Reports served since the last take_served(): records, and their payload bytes.
    struct Served {
        std::uint64_t records = 0;
        std::uint64_t bytes = 0;
    };

    DeliveryReports() = default;
    DeliveryReports(const DeliveryReports&) = delete;
    DeliveryReports& operator=(const DeliveryReports&) = delete;

    void set_delivery_handler(DeliveryHandler handler);
    /// Calls the new handler with `unreachable` at once when the cluster is unreachable now.
    void set_cluster_state_handler(ClusterStateHandler handler);

    /// Hands one report to the delivery handler (a handler that throws is ignored) and counts
    /// it served; a delivered one without an offset (-1) is counted as such too. Serving thread
    /// only.
    void deliver(const MessageView& record, std::optional<DeliveryError> error,
                 std::int64_t offset = -1) noexcept;

    /// Records reported delivered without an offset so far; any thread.
    std::uint64_t delivered_without_offset() const noexcept {
        return delivered_without_offset_.load(std::memory_order_relaxed);
    }

    /// Counts a report served that could not be built (no memory); serving thread only.
    void count_unreported(std::size_t payload_bytes) noexcept { count_served(payload_bytes); }

    /// The reports served since the last call, for the caller to settle; serving thread only.
    Served take_served() noexcept {
        const Served served = served_;
        served_ = Served{};
        return served;
    }

    /// librdkafka reported every broker down.
    void all_brokers_down() noexcept;
    /// A record was delivered: the cluster is reachable again if it was not.
    void record_delivered() noexcept {
        if (unreachable_.load(std::memory_order_relaxed) &&
            unreachable_.exchange(false, std::memory_order_acq_rel)) {
            call_state_handler(ClusterState::reachable);
        }
    }
    /// True after all_brokers_down(), until a record is delivered.
    bool cluster_unreachable() const noexcept {
        return unreachable_.load(std::memory_order_acquire);
    }

private:
    void count_served(std::size_t payload_bytes) noexcept {
        ++served_.records;
        served_.bytes += payload_bytes;
    }
    void call_state_handler(ClusterState state) noexcept;

    std::mutex handlers_mutex_;
    DeliveryHandler delivery_handler_;
    ClusterStateHandler state_handler_;
    std::atomic<bool> unreachable_{false};
    std::atomic<std::uint64_t> delivered_without_offset_{0};  // written by the serving thread
    Served served_;                                           // the serving thread's
};

}  // namespace kafka_log::detail
