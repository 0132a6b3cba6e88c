// SPDX-License-Identifier: Apache-2.0
#pragma once

// QueueCredit: librdkafka's queue bound (queue.buffering.max.messages / .kbytes) as credit
// that logging threads take before they accept a record, so that `queue_full` is answered on
// the calling thread, at once, with librdkafka's own limits.
//
// A shared pool holds what no stripe holds. A stripe (one per group of logging threads, see
// thread_number) takes a chunk from the pool when its own runs out, so a logging thread
// touches the shared pool once a chunk, not once a record. Near the bound stripes take one
// record's worth at a time, and a stripe that finds the pool short brings back the other
// stripes' idle credit before it refuses: a record is refused only when the queue is full.
// Credit comes back with the record's report (return_to_pool) or at once when the record is
// refused after all (give_back).
//
// Thread safety: every member may be called from any thread.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace kafka_log::detail {

class QueueCredit {
public:
    static constexpr std::size_t stripe_count = 8;

    /// A bound of `max_records` records and `max_bytes` payload bytes, all in the pool.
    QueueCredit(std::uint64_t max_records, std::uint64_t max_bytes) noexcept;

    QueueCredit(const QueueCredit&) = delete;
    QueueCredit& operator=(const QueueCredit&) = delete;

    /// Takes one record of `bytes` for `stripe` (below stripe_count); false: the queue is full.
    bool take(std::size_t stripe, std::uint64_t bytes) noexcept {
        Stripe& mine = stripes_[stripe];
        std::uint64_t held = mine.credit.load(std::memory_order_relaxed);
        if ((held >> records_shift) >= 1 && (held & bytes_mask) >= bytes &&
            mine.credit.compare_exchange_weak(held, held - cost(bytes),
                                              std::memory_order_relaxed)) {
            return true;
        }
        return take_slow(mine, bytes);
    }

    /// Returns one record's credit, taken by `stripe` and not used after all.
    void give_back(std::size_t stripe, std::uint64_t bytes) noexcept {
        stripes_[stripe].credit.fetch_add(cost(bytes), std::memory_order_relaxed);
    }

    /// Returns the credit of records that left librdkafka's queue (their reports were served).
    void return_to_pool(std::uint64_t records, std::uint64_t bytes) noexcept {
        pool_bytes_.fetch_add(bytes, std::memory_order_relaxed);
        pool_records_.fetch_add(records, std::memory_order_relaxed);
    }

    /// Records' worth of credit in the pool and the stripes: the bound minus what is taken.
    std::uint64_t available_records() const noexcept;
    /// Bytes' worth of credit in the pool and the stripes.
    std::uint64_t available_bytes() const noexcept;

private:
    static constexpr unsigned records_shift = 40;
    static constexpr std::uint64_t bytes_mask = (std::uint64_t{1} << records_shift) - 1;
    static constexpr std::uint64_t cost(std::uint64_t bytes) noexcept {
        return (std::uint64_t{1} << records_shift) | bytes;
    }

    /// A stripe's held credit: records << records_shift | bytes. Written by its own threads.
    struct alignas(64) Stripe {
        std::atomic<std::uint64_t> credit{0};
    };

    bool take_slow(Stripe& mine, std::uint64_t bytes) noexcept;
    bool refill(Stripe& mine, std::uint64_t held, std::uint64_t bytes) noexcept;
    void sweep_idle_stripes() noexcept;

    std::uint64_t chunk_records_ = 1;
    std::uint64_t chunk_bytes_ = 1;
    std::array<Stripe, stripe_count> stripes_;
    alignas(64) std::atomic<std::uint64_t> pool_records_{0};
    std::atomic<std::uint64_t> pool_bytes_{0};
};

}  // namespace kafka_log::detail
