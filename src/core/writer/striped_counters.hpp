// SPDX-License-Identifier: Apache-2.0
#pragma once

// StripedCounters: where KafkaWriter counts each record's way, cheaply from many threads and
// read back as one consistent snapshot.

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "../../detail/thread_number.hpp"
#include "spin_lock.hpp"

namespace kafka_log::detail {

/// \brief Where a record of the writer ended (the buckets of WriterStats).
enum class Outcome : unsigned {
    delivered,
    lost,
    fallback_queue_full,
    fallback_too_large,
    fallback_delivery_failed,
    fallback_closed,
    fallback_unreachable,
    fallback_reentrant,
    count_,
};

inline constexpr std::size_t outcome_count = static_cast<std::size_t>(Outcome::count_);

/// \brief The counters of records submitted, in flight and ended in each Outcome.
///
/// They are split into cache-line-sized stripes; a thread updates the stripe its number
/// (given in order of first use) picks. Each transition (submit, in flight -> outcome, outcome
/// -> outcome) is one locked update of one stripe, so the identity
/// `submitted == sum(outcomes) + in_flight` holds per stripe at every moment, and `snapshot()`,
/// which locks all stripes, reads a consistent sum.
///
/// Thread safety: every member may be called from any number of threads at once.
class StripedCounters {
public:
    static constexpr std::size_t stripe_count = 16;

    /// \brief The sums over all stripes at one moment.
    struct Snapshot {
        std::uint64_t submitted = 0;
        std::uint64_t in_flight = 0;
        std::uint64_t possibly_persisted = 0;
        std::array<std::uint64_t, outcome_count> outcomes{};

        std::uint64_t operator[](Outcome outcome) const noexcept {
            return outcomes[static_cast<std::size_t>(outcome)];
        }
    };

    /// \brief A record was submitted and is now in flight.
    void submit() noexcept {
        Stripe& s = my_stripe();
        std::lock_guard lock(s.lock);
        ++s.submitted;
        ++s.in_flight;
    }

    /// \brief A record in flight ended in `outcome`.
    void resolve(Outcome outcome, bool possibly_persisted) noexcept {
        Stripe& s = my_stripe();
        std::lock_guard lock(s.lock);
        --s.in_flight;
        ++s.outcomes[static_cast<std::size_t>(outcome)];
        if (possibly_persisted) ++s.possibly_persisted;
    }

    /// \brief A record was submitted and ended in `outcome` at once (never in flight).
    void submit_resolved(Outcome outcome) noexcept {
        Stripe& s = my_stripe();
        std::lock_guard lock(s.lock);
        ++s.submitted;
        ++s.outcomes[static_cast<std::size_t>(outcome)];
    }

    /// \brief `records` records counted in `from` now belong to `to`.
    void move(Outcome from, Outcome to, std::uint64_t records) noexcept {
        Stripe& s = my_stripe();
        std::lock_guard lock(s.lock);
        // A stripe's share may wrap; the sum does not.
        s.outcomes[static_cast<std::size_t>(from)] -= records;
        s.outcomes[static_cast<std::size_t>(to)] += records;
    }

    /// \brief The sums, read with every stripe locked (always in the same order).
    Snapshot snapshot() const noexcept {
        for (const Stripe& s : stripes_) s.lock.lock();
        Snapshot out;
        std::int64_t in_flight = 0;
        for (const Stripe& s : stripes_) {
            out.submitted += s.submitted;
            in_flight += s.in_flight;
            out.possibly_persisted += s.possibly_persisted;
            for (std::size_t i = 0; i < outcome_count; ++i) out.outcomes[i] += s.outcomes[i];
        }
        for (const Stripe& s : stripes_) s.lock.unlock();
        out.in_flight = static_cast<std::uint64_t>(in_flight);
        return out;
    }

private:
    /// The sequence of thread numbers that picks a thread's stripe.
    struct StripeSequence {};

    struct alignas(64) Stripe {
        mutable SpinLock lock;
        std::uint64_t submitted = 0;
        std::int64_t in_flight = 0;  // a stripe's share may be negative; the sum is not
        std::uint64_t possibly_persisted = 0;
        std::array<std::uint64_t, outcome_count> outcomes{};
    };

    Stripe& my_stripe() noexcept {
        return stripes_[thread_number<StripeSequence>() % stripe_count];
    }

    std::array<Stripe, stripe_count> stripes_;
};

}  // namespace kafka_log::detail
