// SPDX-License-Identifier: Apache-2.0
#pragma once

// InFlightCount: records accepted and not yet reported, and a wait for that number to reach
// zero (flush, close).
//
// Logging threads count a record in on their stripe (one per group of threads, see
// thread_number), so two threads that log at once do not pass a cache line back and forth.
// Whoever settles records (the thread serving reports, a batch at a time, or produce() for a
// record it refuses) counts them out on one shared counter; the stripes are read only to
// answer in_flight(), and by count_out() only while someone waits.
//
// Thread safety: every member may be called from any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace kafka_log::detail {

class InFlightCount {
public:
    static constexpr std::size_t stripe_count = 8;

    InFlightCount() = default;
    InFlightCount(const InFlightCount&) = delete;
    InFlightCount& operator=(const InFlightCount&) = delete;

    /// Counts one record in on `stripe` (below stripe_count). seq_cst: a closing thread that
    /// stores its flag and then waits for zero either waits for this record or the caller,
    /// reading that flag after this, sees it.
    void count_in(std::size_t stripe) noexcept {
        stripes_[stripe].accepted.fetch_add(1, std::memory_order_seq_cst);
    }

    /// Counts `records` out (reported, or refused after count_in) and wakes the waiters when
    /// that leaves none in flight.
    void count_out(std::uint64_t records) noexcept {
        settled_.fetch_add(records, std::memory_order_seq_cst);
        // Pairs with wait_until_idle(): it counts itself in (seq_cst) before it reads
        // in_flight(), and we counted out (seq_cst) before we read waiters_, so one of the two
        // sees the other.
        if (waiters_.load(std::memory_order_seq_cst) != 0) wake_if_idle();
    }

    /// Records counted in and not yet out.
    std::uint64_t in_flight() const noexcept {
        // Settled first: every settled record was counted in before, so this never wraps.
        const std::uint64_t settled = settled_.load(std::memory_order_seq_cst);
        std::uint64_t accepted = 0;
        for (const Stripe& stripe : stripes_)
            accepted += stripe.accepted.load(std::memory_order_seq_cst);
        return accepted - settled;
    }

    /// Waits until nothing is in flight or `deadline` passes; true: nothing in flight.
    bool wait_until_idle(std::chrono::steady_clock::time_point deadline);

private:
    struct alignas(64) Stripe {
        std::atomic<std::uint64_t> accepted{0};
    };

    void wake_if_idle() noexcept;

    std::array<Stripe, stripe_count> stripes_;
    alignas(64) std::atomic<std::uint64_t> settled_{0};
    std::atomic<unsigned> waiters_{0};
    std::mutex idle_mutex_;
    std::condition_variable idle_cv_;
};

}  // namespace kafka_log::detail
