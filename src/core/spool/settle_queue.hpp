// SPDX-License-Identifier: Apache-2.0
#pragma once

// SettleQueue: journal settles gathered under a lock of their own and handed over in batches.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace kafka_log::detail::spool {

/// \brief Journal settles wait here, under their own small lock, and are applied by the spool
/// in batches: the thread that reports deliveries then takes the logging threads' lock once
/// per batch, not once per record.
///
/// Thread safety: `push` and `clear` from any thread; `take` from one thread at a time (the
/// spool calls it under its own mutex).
class SettleQueue {
public:
    static constexpr std::size_t batch = 64;

    /// \brief Queues `token`. \return true when a batch is full (the caller applies it).
    /// \throws std::bad_alloc (the caller then settles the token at once).
    bool push(std::uint64_t token) {
        std::lock_guard lock(mutex_);
        if (pending_.capacity() == 0) pending_.reserve(batch * 2);
        pending_.push_back(token);
        return pending_.size() >= batch;
    }

    /// \brief Calls `apply(token)` for every queued token, in order, outside the queue's lock.
    template <class Apply>
    void take(Apply&& apply) noexcept {
        {
            std::lock_guard lock(mutex_);
            if (pending_.empty()) return;
            applying_.swap(pending_);
        }
        for (const std::uint64_t token : applying_) apply(token);
        applying_.clear();
    }

    /// \brief Drops every queued token (a forked child's: the parent's to settle).
    void clear() noexcept {
        std::lock_guard lock(mutex_);
        pending_.clear();
    }

    /// \name Held across fork() (see ForkGuard)
    ///@{
    void lock() noexcept { mutex_.lock(); }
    void unlock() noexcept { mutex_.unlock(); }
    ///@}

private:
    std::mutex mutex_;
    std::vector<std::uint64_t> pending_;
    std::vector<std::uint64_t> applying_;  // swapped with pending_; used by `take` only
};

}  // namespace kafka_log::detail::spool
