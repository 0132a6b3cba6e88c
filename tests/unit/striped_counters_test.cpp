// SPDX-License-Identifier: Apache-2.0
// StripedCounters (KafkaWriter's counters) and SpinLock: each transition keeps the identity,
// and a snapshot taken while many threads count is always balanced.

#include "../../src/core/writer/striped_counters.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

namespace kafka_log::detail {
namespace {

std::uint64_t ended(const StripedCounters::Snapshot& s) {
    return std::accumulate(s.outcomes.begin(), s.outcomes.end(), std::uint64_t{0});
}

bool balanced(const StripedCounters::Snapshot& s) {
    return s.submitted == ended(s) + s.in_flight;
}

TEST(StripedCountersTest, StartsAtZero) {
    StripedCounters counters;
    const auto s = counters.snapshot();
    EXPECT_EQ(s.submitted, 0u);
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(ended(s), 0u);
}

TEST(StripedCountersTest, EachTransitionKeepsTheIdentity) {
    StripedCounters counters;
    counters.submit();
    counters.submit();
    auto s = counters.snapshot();
    EXPECT_EQ(s.submitted, 2u);
    EXPECT_EQ(s.in_flight, 2u);
    counters.resolve(Outcome::delivered, false);
    counters.resolve(Outcome::fallback_delivery_failed, true);
    counters.submit_resolved(Outcome::fallback_closed);
    s = counters.snapshot();
    EXPECT_EQ(s.submitted, 3u);
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s[Outcome::delivered], 1u);
    EXPECT_EQ(s[Outcome::fallback_delivery_failed], 1u);
    EXPECT_EQ(s[Outcome::fallback_closed], 1u);
    EXPECT_EQ(s.possibly_persisted, 1u);
    EXPECT_TRUE(balanced(s));
    counters.move(Outcome::fallback_closed, Outcome::lost, 1);
    s = counters.snapshot();
    EXPECT_EQ(s[Outcome::fallback_closed], 0u);
    EXPECT_EQ(s[Outcome::lost], 1u);
    EXPECT_TRUE(balanced(s));
}

TEST(StripedCountersTest, TransitionsOnDifferentThreadsSumUp) {
    // A record submitted on one thread and resolved on another (the delivery thread): each
    // stripe's share of in_flight may be negative, the sum is not.
    StripedCounters counters;
    std::thread([&] {
        for (int i = 0; i < 10; ++i) counters.submit();
    }).join();
    std::thread([&] {
        for (int i = 0; i < 10; ++i) counters.resolve(Outcome::delivered, false);
    }).join();
    const auto s = counters.snapshot();
    EXPECT_EQ(s.submitted, 10u);
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s[Outcome::delivered], 10u);
}

TEST(StripedCountersTest, SnapshotsDuringConcurrentCountingAreBalanced) {
    StripedCounters counters;
    constexpr int threads = 4;
    constexpr int per_thread = 20000;
    std::atomic<bool> done{false};
    std::atomic<int> unbalanced{0};
    std::thread reader([&] {
        while (!done.load()) {
            if (!balanced(counters.snapshot())) ++unbalanced;
        }
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t) {
        writers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                counters.submit();
                counters.resolve(t % 2 == 0 ? Outcome::delivered : Outcome::fallback_queue_full,
                                 false);
                counters.submit_resolved(Outcome::fallback_unreachable);
            }
        });
    }
    for (auto& w : writers) w.join();
    done = true;
    reader.join();
    const auto s = counters.snapshot();
    EXPECT_EQ(unbalanced.load(), 0);
    EXPECT_EQ(s.submitted, 2u * threads * per_thread);
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s[Outcome::fallback_unreachable], 1u * threads * per_thread);
    EXPECT_EQ(s[Outcome::delivered] + s[Outcome::fallback_queue_full], 1u * threads * per_thread);
}

TEST(SpinLockTest, ExcludesAndTryLockFailsWhileHeld) {
    SpinLock lock;
    ASSERT_TRUE(lock.try_lock());
    EXPECT_FALSE(lock.try_lock());
    lock.unlock();
    std::uint64_t shared = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10000; ++i) {
                std::lock_guard guard(lock);
                ++shared;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(shared, 40000u);
}

}  // namespace
}  // namespace kafka_log::detail
