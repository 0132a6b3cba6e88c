// SPDX-License-Identifier: Apache-2.0
#pragma once

// SpinLock: a lock for sections of a few instructions that are nearly never contended.

#include <atomic>
#include <thread>

namespace kafka_log::detail {

/// \brief A BasicLockable lock held for a few increments; a waiter yields its time slice.
/// Cheaper than a mutex when, as for a counter stripe, two threads almost never meet on it.
///
/// Thread safety: `lock`/`unlock` from any thread; not recursive.
class SpinLock {
public:
    void lock() noexcept {
        while (locked_.exchange(true, std::memory_order_acquire)) {
            while (locked_.load(std::memory_order_relaxed)) std::this_thread::yield();
        }
    }
    bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> locked_{false};
};

}  // namespace kafka_log::detail
