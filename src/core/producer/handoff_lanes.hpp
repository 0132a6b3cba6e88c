// SPDX-License-Identifier: Apache-2.0
#pragma once

// HandoffLanes: one hand-off ring per lane of logging threads. A thread's lane is its stripe
// (thread_number, modulo lane_count), so the first threads that log each get a ring of their
// own; a lane's ring is made when its first record comes, so a process with one logging
// thread has one ring. The rings live as long as the lanes.
//
// Thread safety: ring() from any thread; the rings themselves say who may do what.

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>

#include "handoff_ring.hpp"

namespace kafka_log::detail {

template <typename Tag>
class HandoffLanes {
public:
    using Ring = HandoffRing<Tag>;
    static constexpr std::size_t lane_count = 8;

    /// Rings of `ring_slots` slots (rounded up to a power of two, at least 2).
    explicit HandoffLanes(std::size_t ring_slots) noexcept
        : ring_slots_(ring_slots < 2 ? 2 : ring_slots) {}
    ~HandoffLanes() {
        for (Lane& lane : lanes_) delete lane.ring.load(std::memory_order_acquire);
    }

    HandoffLanes(const HandoffLanes&) = delete;
    HandoffLanes& operator=(const HandoffLanes&) = delete;

    /// The ring of `lane` (below lane_count), made on first use; null when there is no
    /// memory for it. seq_cst: the ring is installed before its first record is reserved.
    Ring* ring(std::size_t lane) noexcept {
        if (Ring* ring = lanes_[lane].ring.load(std::memory_order_acquire)) return ring;
        return make_ring(lanes_[lane]);
    }

    /// Calls `visit(Ring&)` for each lane's ring made so far, in lane order.
    template <typename Visit>
    void for_each_ring(Visit&& visit) {
        for (Lane& lane : lanes_) {
            if (Ring* ring = lane.ring.load(std::memory_order_acquire)) visit(*ring);
        }
    }

    /// True when no ring holds a record (seq_cst: see HandoffRing::empty()).
    bool empty() const noexcept {
        for (const Lane& lane : lanes_) {
            const Ring* ring = lane.ring.load(std::memory_order_seq_cst);
            if (ring != nullptr && !ring->empty()) return false;
        }
        return true;
    }

    std::size_t ring_slots() const noexcept { return ring_slots_; }

private:
    // Written once per lane, read by every record: the lanes may share a cache line.
    struct Lane {
        std::atomic<Ring*> ring{nullptr};  // ours to delete
    };

    Ring* make_ring(Lane& lane) noexcept {
        try {
            auto fresh = std::make_unique<Ring>(ring_slots_);
            Ring* other = nullptr;
            if (lane.ring.compare_exchange_strong(other, fresh.get(), std::memory_order_seq_cst,
                                                  std::memory_order_acquire)) {
                return fresh.release();
            }
            return other;  // another thread of the lane was first
        } catch (...) {
            return nullptr;  // no memory for a ring: the caller hands its record over itself
        }
    }

    const std::size_t ring_slots_;
    std::array<Lane, lane_count> lanes_;
};

}  // namespace kafka_log::detail
