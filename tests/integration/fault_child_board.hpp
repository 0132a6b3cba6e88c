// SPDX-License-Identifier: Apache-2.0
#pragma once

// ChildBoard: what kafka_log_fault_child (fault_child.cpp) and the fault-matrix tests share
// through a MAP_SHARED mapping of a file: how many records returned from `write`, a snapshot of
// the writer's counters (published under a sequence count, read consistently), and two flags.
// Plain 64-bit words accessed through std::atomic_ref: the same layout in both processes.

#include <atomic>
#include <cstdint>
#include <optional>

namespace kafka_log::test {

/// The counters the child publishes.
struct ChildSnapshot {
    std::uint64_t submitted = 0;
    std::uint64_t delivered = 0;
    std::uint64_t fallback = 0;  // fallback_total()
    std::uint64_t lost = 0;
    std::uint64_t in_flight = 0;
    std::uint64_t possibly_persisted = 0;
    std::uint64_t fallback_unreachable = 0;
    std::uint64_t fallback_closed = 0;

    bool balanced() const { return submitted == delivered + fallback + lost + in_flight; }
};

struct ChildBoard {
    std::uint64_t returned;  // records whose write returned (the child's own count)
    std::uint64_t stop;      // the test asks the child to stop writing
    std::uint64_t stopped;   // the child stopped; its snapshot is final
    std::uint64_t sequence;  // odd while the snapshot is being written
    std::uint64_t snapshot[8];

    static std::uint64_t load(const std::uint64_t& word) {
        // The mapping is writable in both processes; atomic_ref needs a non-const object.
        return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(word))
            .load(std::memory_order_acquire);
    }
    static void store(std::uint64_t& word, std::uint64_t value) {
        std::atomic_ref<std::uint64_t>(word).store(value, std::memory_order_release);
    }

    // The child's side.
    void set_returned(std::uint64_t n) { store(returned, n); }
    void set_stopped() { store(stopped, 1); }
    bool stop_requested() const { return load(stop) != 0; }
    void publish(const ChildSnapshot& s) {
        const std::uint64_t seq = load(sequence);
        store(sequence, seq + 1);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        const std::uint64_t values[8] = {s.submitted,
                                         s.delivered,
                                         s.fallback,
                                         s.lost,
                                         s.in_flight,
                                         s.possibly_persisted,
                                         s.fallback_unreachable,
                                         s.fallback_closed};
        for (int i = 0; i < 8; ++i) store(snapshot[i], values[i]);
        store(sequence, seq + 2);
    }

    // The test's side.
    std::uint64_t records_returned() const { return load(returned); }
    bool has_stopped() const { return load(stopped) != 0; }
    void request_stop() { store(stop, 1); }
    /// A consistent snapshot; retries while the child writes one, and gives up (nullopt) after a
    /// million tries (a child that died in the middle of one).
    std::optional<ChildSnapshot> read() const {
        for (int tries = 0; tries < 1000000; ++tries) {
            const std::uint64_t before = load(sequence);
            if (before % 2 == 1) continue;
            std::uint64_t v[8];
            for (int i = 0; i < 8; ++i) v[i] = load(snapshot[i]);
            std::atomic_thread_fence(std::memory_order_seq_cst);
            if (load(sequence) == before) {
                return ChildSnapshot{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
            }
        }
        return std::nullopt;
    }
};

}  // namespace kafka_log::test
