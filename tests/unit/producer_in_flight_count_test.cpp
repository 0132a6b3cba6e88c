// SPDX-License-Identifier: Apache-2.0
// InFlightCount: records counted in on any stripe and out in batches, and a wait for zero
// that wakes when the last record is counted out, or times out.

#include "../../src/core/producer/in_flight_count.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace kafka_log::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(InFlightCountTest, CountsRecordsInOnStripesAndOutInBatches) {
    InFlightCount count;
    EXPECT_EQ(count.in_flight(), 0u);
    count.count_in(0);
    count.count_in(3);
    count.count_in(7);
    EXPECT_EQ(count.in_flight(), 3u);
    count.count_out(2);
    EXPECT_EQ(count.in_flight(), 1u);
    count.count_out(1);
    EXPECT_EQ(count.in_flight(), 0u);
}

TEST(InFlightCountTest, AWaitWithNothingInFlightReturnsAtOnce) {
    InFlightCount count;
    EXPECT_TRUE(count.wait_until_idle(Clock::now()));
}

TEST(InFlightCountTest, AWaitTimesOutWhileARecordIsInFlight) {
    InFlightCount count;
    count.count_in(1);
    EXPECT_FALSE(count.wait_until_idle(Clock::now() + 20ms));
    EXPECT_EQ(count.in_flight(), 1u);
}

TEST(InFlightCountTest, TheLastCountOutWakesTheWaiter) {
    InFlightCount count;
    for (int i = 0; i < 100; ++i)
        count.count_in(static_cast<std::size_t>(i) % InFlightCount::stripe_count);
    std::thread settler([&] {
        for (int i = 0; i < 10; ++i) count.count_out(10);
    });
    // A generous deadline: only a missed wake-up would reach it.
    EXPECT_TRUE(count.wait_until_idle(Clock::now() + 30s));
    settler.join();
    EXPECT_EQ(count.in_flight(), 0u);
}

TEST(InFlightCountTest, ManyThreadsCountingInAndOutLeaveZero) {
    InFlightCount count;
    std::vector<std::thread> threads;
    for (std::size_t stripe = 0; stripe < InFlightCount::stripe_count; ++stripe) {
        threads.emplace_back([&, stripe] {
            for (int i = 0; i < 10000; ++i) {
                count.count_in(stripe);
                count.count_out(1);
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(count.in_flight(), 0u);
    EXPECT_TRUE(count.wait_until_idle(Clock::now()));
}

}  // namespace
}  // namespace kafka_log::detail
