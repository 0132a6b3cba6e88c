// SPDX-License-Identifier: Apache-2.0
#include "queue_credit.hpp"

#include <algorithm>

namespace kafka_log::detail {

QueueCredit::QueueCredit(std::uint64_t max_records, std::uint64_t max_bytes) noexcept
    : pool_records_(max_records), pool_bytes_(max_bytes) {
    constexpr std::uint64_t chunks = stripe_count * 32;  // all stripes' chunks: 1/32 of the bound
    chunk_records_ = std::clamp<std::uint64_t>(max_records / chunks, 1, 4096);
    chunk_bytes_ = std::clamp<std::uint64_t>(max_bytes / chunks, 1, std::uint64_t{16} << 20);
}

bool QueueCredit::take_slow(Stripe& mine, std::uint64_t bytes) noexcept {
    bool swept = false;
    for (int attempt = 0; attempt < 8; ++attempt) {
        std::uint64_t held = mine.credit.load(std::memory_order_relaxed);
        while ((held >> records_shift) >= 1 && (held & bytes_mask) >= bytes) {
            if (mine.credit.compare_exchange_weak(held, held - cost(bytes),
                                                  std::memory_order_relaxed)) {
                return true;
            }
        }
        // Another thread of the stripe may take the refill first: look again.
        if (refill(mine, held, bytes)) continue;
        if (swept) return false;
        // The pool is short: before refusing, bring back what other stripes hold and do not
        // use, so that the bound is librdkafka's, not lower. Only ever near the bound.
        sweep_idle_stripes();
        swept = true;
    }
    return false;
}

void QueueCredit::sweep_idle_stripes() noexcept {
    for (Stripe& other : stripes_) {
        const std::uint64_t idle = other.credit.exchange(0, std::memory_order_relaxed);
        return_to_pool(idle >> records_shift, idle & bytes_mask);
    }
}

bool QueueCredit::refill(Stripe& mine, std::uint64_t held, std::uint64_t bytes) noexcept {
    // Takes up to `want` (at least `need`) from a pool; 0 when it holds less than `need`.
    // Near the bound a stripe takes only what it needs, so that no record is refused while
    // other stripes hold credit.
    const auto take = [](std::atomic<std::uint64_t>& pool, std::uint64_t want,
                         std::uint64_t need) -> std::uint64_t {
        std::uint64_t available = pool.load(std::memory_order_relaxed);
        for (;;) {
            if (available < need) return 0;
            const std::uint64_t got =
                available / 2 < stripe_count * want ? need : std::min(want, available);
            if (pool.compare_exchange_weak(available, available - got, std::memory_order_relaxed)) {
                return got;
            }
        }
    };
    std::uint64_t records = 0;
    if ((held >> records_shift) == 0) {
        records = take(pool_records_, chunk_records_, 1);
        if (records == 0) return false;
    }
    std::uint64_t more_bytes = 0;
    const std::uint64_t held_bytes = held & bytes_mask;
    if (held_bytes < bytes) {
        const std::uint64_t need = bytes - held_bytes;
        more_bytes = take(pool_bytes_, std::max(chunk_bytes_, need), need);
        if (more_bytes == 0) {
            pool_records_.fetch_add(records, std::memory_order_relaxed);
            return false;
        }
    }
    mine.credit.fetch_add((records << records_shift) | more_bytes, std::memory_order_relaxed);
    return true;
}

std::uint64_t QueueCredit::available_records() const noexcept {
    std::uint64_t total = pool_records_.load(std::memory_order_relaxed);
    for (const Stripe& stripe : stripes_)
        total += stripe.credit.load(std::memory_order_relaxed) >> records_shift;
    return total;
}

std::uint64_t QueueCredit::available_bytes() const noexcept {
    std::uint64_t total = pool_bytes_.load(std::memory_order_relaxed);
    for (const Stripe& stripe : stripes_)
        total += stripe.credit.load(std::memory_order_relaxed) & bytes_mask;
    return total;
}

}  // namespace kafka_log::detail
