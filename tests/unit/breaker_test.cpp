// SPDX-License-Identifier: Apache-2.0
// Breaker, KafkaWriter's circuit breaker, on a clock the test moves: closed admits all, trip
// opens for the back-off, one probe once it passed, back-off doubling up to its maximum, reset.

#include "../../src/core/writer/breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace kafka_log::detail {
namespace {

using namespace std::chrono_literals;

struct TestClock {
    static inline std::atomic<std::int64_t> now{1'000'000'000};
    static std::int64_t now_ns() noexcept { return now.load(); }
    static void advance(std::chrono::nanoseconds by) { now += by.count(); }
};

using TestBreaker = BasicBreaker<TestClock>;

bool admits(TestBreaker& breaker) {
    bool probe = false;
    return breaker.admits(probe);
}

TEST(BreakerTest, ClosedAdmitsEveryRecordWithoutProbe) {
    TestBreaker breaker(100ms, 400ms);
    EXPECT_FALSE(breaker.is_open());
    EXPECT_EQ(breaker.state(), TestBreaker::State::closed);
    for (int i = 0; i < 3; ++i) {
        bool probe = true;
        EXPECT_TRUE(breaker.admits(probe));
        EXPECT_FALSE(probe);
    }
}

TEST(BreakerTest, TripOpensForTheBackoffThenAdmitsExactlyOneProbe) {
    TestBreaker breaker(100ms, 400ms);
    breaker.trip();
    EXPECT_TRUE(breaker.is_open());
    EXPECT_EQ(breaker.state(), TestBreaker::State::open);
    EXPECT_FALSE(admits(breaker));
    TestClock::advance(99ms);
    EXPECT_FALSE(admits(breaker));
    TestClock::advance(1ms);
    EXPECT_EQ(breaker.state(), TestBreaker::State::probe_due);
    bool probe = false;
    EXPECT_TRUE(breaker.admits(probe));
    EXPECT_TRUE(probe);
    EXPECT_FALSE(admits(breaker)) << "one probe at a time";
    EXPECT_TRUE(breaker.is_open());
}

TEST(BreakerTest, ResetClosesAndRestoresTheFirstBackoff) {
    TestBreaker breaker(100ms, 400ms);
    breaker.trip();  // 100 ms, next 200
    breaker.reset();
    EXPECT_FALSE(breaker.is_open());
    EXPECT_TRUE(admits(breaker));
    breaker.trip();  // 100 ms again
    TestClock::advance(100ms);
    EXPECT_TRUE(admits(breaker));
}

TEST(BreakerTest, FailedProbeDoublesTheBackoffUpToItsMaximum) {
    TestBreaker breaker(100ms, 300ms);
    breaker.trip();  // open 100 ms
    const std::chrono::milliseconds expected[] = {200ms, 300ms, 300ms};
    TestClock::advance(100ms);
    for (const auto backoff : expected) {
        ASSERT_TRUE(admits(breaker));  // the probe
        breaker.on_failure();          // ...failed: open for the doubled back-off
        TestClock::advance(backoff - 1ms);
        EXPECT_FALSE(admits(breaker)) << backoff.count();
        TestClock::advance(1ms);
    }
}

TEST(BreakerTest, FailureWithoutProbeOutKeepsItClosed) {
    TestBreaker breaker(100ms, 400ms);
    breaker.on_failure();
    EXPECT_FALSE(breaker.is_open());
}

TEST(BreakerTest, UnreachableOpensOnceAndDoesNotPushTheDeadline) {
    TestBreaker breaker(100ms, 400ms);
    breaker.on_unreachable();
    EXPECT_TRUE(breaker.is_open());
    TestClock::advance(60ms);
    breaker.on_unreachable();  // already open: same deadline
    TestClock::advance(40ms);
    EXPECT_EQ(breaker.state(), TestBreaker::State::probe_due);
    breaker.on_unreachable();  // half-open: reopens, for the doubled back-off
    EXPECT_EQ(breaker.state(), TestBreaker::State::open);
    TestClock::advance(200ms);
    EXPECT_EQ(breaker.state(), TestBreaker::State::probe_due);
}

TEST(BreakerTest, ConcurrentCallersGetOneProbe) {
    TestBreaker breaker(100ms, 400ms);
    breaker.trip();
    TestClock::advance(100ms);
    std::atomic<int> probes{0};
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) {
                bool probe = false;
                if (breaker.admits(probe)) ++admitted;
                if (probe) ++probes;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(probes.load(), 1);
    EXPECT_EQ(admitted.load(), 1);
}

}  // namespace
}  // namespace kafka_log::detail
