// SPDX-License-Identifier: Apache-2.0
// QueueCredit: the queue bound holds across stripes, a stripe's idle credit is brought back
// before a record is refused, and credit returns when records leave the queue.

#include "../../src/core/producer/queue_credit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace kafka_log::detail {
namespace {

TEST(QueueCreditTest, RefusesTheRecordPastTheRecordBound) {
    QueueCredit credit(5, 1'000'000);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(credit.take(0, 10)) << i;
    EXPECT_FALSE(credit.take(0, 10)) << "the sixth record is past the bound";
    EXPECT_EQ(credit.available_records(), 0u);
}

TEST(QueueCreditTest, RefusesTheRecordPastTheByteBound) {
    QueueCredit credit(1000, 100);
    EXPECT_TRUE(credit.take(0, 60));
    EXPECT_FALSE(credit.take(0, 50)) << "60 + 50 bytes exceed 100";
    EXPECT_TRUE(credit.take(0, 40));
    EXPECT_EQ(credit.available_bytes(), 0u);
}

TEST(QueueCreditTest, AStripeBringsBackWhatOtherStripesHoldIdle) {
    QueueCredit credit(64, 1'000'000);
    // Stripe 1 takes a record, and with it a chunk it does not use.
    ASSERT_TRUE(credit.take(1, 1));
    std::uint64_t taken = 1;
    while (credit.take(0, 1)) ++taken;
    EXPECT_EQ(taken, 64u) << "stripe 0 reached the whole bound, stripe 1's idle credit included";
}

TEST(QueueCreditTest, ReturnedCreditCanBeTakenAgain) {
    QueueCredit credit(2, 1'000'000);
    ASSERT_TRUE(credit.take(0, 100));
    ASSERT_TRUE(credit.take(3, 100));
    ASSERT_FALSE(credit.take(0, 100));
    credit.return_to_pool(1, 100);  // one record's report was served
    EXPECT_TRUE(credit.take(5, 100));
    EXPECT_FALSE(credit.take(5, 100));
}

TEST(QueueCreditTest, GiveBackReturnsARecordToItsStripe) {
    QueueCredit credit(1, 1'000'000);
    ASSERT_TRUE(credit.take(2, 7));
    ASSERT_FALSE(credit.take(2, 7));
    credit.give_back(2, 7);  // refused after all
    EXPECT_EQ(credit.available_records(), 1u);
    EXPECT_EQ(credit.available_bytes(), 1'000'000u);
    EXPECT_TRUE(credit.take(2, 7));
}

TEST(QueueCreditTest, ThreadsTogetherNeverExceedTheBound) {
    constexpr std::uint64_t bound = 10'000;
    QueueCredit credit(bound, std::uint64_t{1} << 30);
    std::atomic<std::uint64_t> granted{0};
    std::vector<std::thread> threads;
    for (std::size_t stripe = 0; stripe < QueueCredit::stripe_count; ++stripe) {
        threads.emplace_back([&, stripe] {
            for (int i = 0; i < 5000; ++i) {
                if (credit.take(stripe, 100)) granted.fetch_add(1);
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(granted.load(), bound) << "8 x 5000 asks: exactly the bound is granted";
    EXPECT_EQ(credit.available_records(), 0u);
}

}  // namespace
}  // namespace kafka_log::detail
