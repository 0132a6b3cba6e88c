// SPDX-License-Identifier: Apache-2.0
#pragma once

// Breaker: tells KafkaWriter whether a record may go to the producer while the cluster is
// unreachable, with one probe record per back-off.

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace kafka_log::detail {

/// \brief Monotonic time to the kernel's tick (1–4 ms), which the breaker's deadlines (100 ms
/// and up) do not notice. An open breaker reads it for every record it turns away, and the
/// coarse clock costs a fifth of the precise one (no TSC read, none of a VM's clock exits).
struct CoarseMonotonicClock {
    static std::int64_t now_ns() noexcept {
        timespec ts{};
        ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    }
};

/// \brief A circuit breaker: closed, open until a deadline, then half-open (one probe).
///
/// Closed: every record is admitted. `trip()` opens it for the current back-off, and doubles
/// the back-off for the next time (up to the maximum). Once the deadline passed, exactly one
/// record is admitted as the probe; its failure trips the breaker again, and `reset()` (a
/// delivery, the cluster reachable) closes it and restores the first back-off.
///
/// `Clock::now_ns()` gives the time (tests pass a clock of their own).
///
/// Thread safety: every member may be called from any number of threads at once.
template <class Clock>
class BasicBreaker {
public:
    /// \brief What a sender that has no record of its own to probe with may send now.
    enum class State {
        closed,     ///< Everything.
        probe_due,  ///< Open, but its deadline passed: one record may find out.
        open,       ///< Nothing.
    };

    BasicBreaker(std::chrono::nanoseconds backoff, std::chrono::nanoseconds max_backoff) noexcept
        : first_backoff_ns_(backoff.count()),
          max_backoff_ns_(max_backoff.count()),
          backoff_ns_(backoff.count()) {}

    /// \brief True when a record may be produced: closed, or this record is the probe (then
    /// `probe` is set). The closed breaker costs one load.
    bool admits(bool& probe) noexcept {
        probe = false;
        const std::int64_t until = open_until_.load(std::memory_order_acquire);
        if (until == 0) return true;
        if (Clock::now_ns() < until) return false;
        // Half-open: exactly one record goes through as the probe.
        if (probe_in_flight_.exchange(true, std::memory_order_acq_rel)) return false;
        probe = true;
        return true;
    }

    /// \brief Opens for the current back-off (and doubles the next one, up to the maximum).
    void trip() noexcept {
        const std::int64_t backoff = backoff_ns_.load(std::memory_order_relaxed);
        open_until_.store(Clock::now_ns() + backoff, std::memory_order_release);
        probe_in_flight_.store(false, std::memory_order_release);
        backoff_ns_.store(std::min(backoff * 2, max_backoff_ns_), std::memory_order_relaxed);
    }

    /// \brief Closes (a record was delivered, or the cluster is reachable).
    void reset() noexcept {
        if (open_until_.load(std::memory_order_acquire) == 0) return;
        backoff_ns_.store(first_backoff_ns_, std::memory_order_relaxed);
        probe_in_flight_.store(false, std::memory_order_release);
        open_until_.store(0, std::memory_order_release);
    }

    /// \brief The cluster is unreachable: opens a closed breaker, or reopens a half-open one
    /// whose probe is out; an open breaker keeps its deadline (repeated signals do not push it
    /// further away).
    void on_unreachable() noexcept {
        const std::int64_t until = open_until_.load(std::memory_order_acquire);
        if (until == 0 || Clock::now_ns() >= until) trip();
    }

    /// \brief A record failed: while a probe is out, it is taken for the probe's failure.
    void on_failure() noexcept {
        if (probe_in_flight_.load(std::memory_order_acquire)) trip();
    }

    /// \brief Closed, probe due or open, without taking the probe.
    State state() const noexcept {
        const std::int64_t until = open_until_.load(std::memory_order_acquire);
        if (until == 0) return State::closed;
        return Clock::now_ns() >= until ? State::probe_due : State::open;
    }

    /// \brief True while open (its probe due or not).
    bool is_open() const noexcept { return open_until_.load(std::memory_order_acquire) != 0; }

private:
    const std::int64_t first_backoff_ns_;
    const std::int64_t max_backoff_ns_;
    std::atomic<std::int64_t> open_until_{0};  // Clock time in ns; 0: closed
    std::atomic<bool> probe_in_flight_{false};
    std::atomic<std::int64_t> backoff_ns_;
};

/// \brief The breaker KafkaWriter uses.
using Breaker = BasicBreaker<CoarseMonotonicClock>;

}  // namespace kafka_log::detail
