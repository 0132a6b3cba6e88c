// SPDX-License-Identifier: Apache-2.0
// HandoffLanes: a lane's ring is made on its first use only, is the same for every thread of
// the lane, and empty() sees a record in any lane.

#include "../../src/core/producer/handoff_lanes.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace kafka_log::detail {
namespace {

using Lanes = HandoffLanes<int>;

TEST(HandoffLanesTest, MakesALanesRingOnItsFirstUseOnly) {
    Lanes lanes(5);
    int rings = 0;
    lanes.for_each_ring([&](Lanes::Ring&) { ++rings; });
    EXPECT_EQ(rings, 0) << "no ring before a lane is used";
    Lanes::Ring* ring = lanes.ring(3);
    ASSERT_NE(ring, nullptr);
    EXPECT_EQ(ring->capacity(), 8u) << "ring_slots rounded up to a power of two";
    EXPECT_EQ(lanes.ring(3), ring) << "the same ring each time";
    lanes.for_each_ring([&](Lanes::Ring& r) {
        ++rings;
        EXPECT_EQ(&r, ring);
    });
    EXPECT_EQ(rings, 1);
}

TEST(HandoffLanesTest, EmptyLooksAtEveryLanesRing) {
    Lanes lanes(4);
    EXPECT_TRUE(lanes.empty());
    ASSERT_TRUE(lanes.ring(0)->try_push(1, "a", ""));
    ASSERT_TRUE(lanes.ring(6)->try_push(2, "b", ""));
    EXPECT_FALSE(lanes.empty());
    lanes.ring(0)->pop();
    EXPECT_FALSE(lanes.empty()) << "lane 6 still holds a record";
    lanes.ring(6)->pop();
    EXPECT_TRUE(lanes.empty());
}

TEST(HandoffLanesTest, ThreadsOfOneLaneRacingForItsFirstRingGetTheSameOne) {
    Lanes lanes(16);
    std::vector<Lanes::Ring*> seen(8, nullptr);
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        threads.emplace_back([&, i] {
            while (!go.load()) std::this_thread::yield();
            seen[i] = lanes.ring(2);
        });
    }
    go.store(true);
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(std::set<Lanes::Ring*>(seen.begin(), seen.end()).size(), 1u);
    EXPECT_NE(seen[0], nullptr);
}

TEST(HandoffLanesTest, ATinySizeStillGivesRingsOfTwo) {
    Lanes lanes(0);
    EXPECT_EQ(lanes.ring_slots(), 2u);
    EXPECT_EQ(lanes.ring(1)->capacity(), 2u);
}

}  // namespace
}  // namespace kafka_log::detail
