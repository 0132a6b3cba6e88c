// SPDX-License-Identifier: Apache-2.0
// HandoffRing, the ring RdKafkaProducer hands records through: order, fullness, every record
// exactly once with several producers, headers and timestamps carried whole, and large slots
// giving their memory back.

#include "../../src/core/producer/handoff_ring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace kafka_log::detail {
namespace {

using Ring = HandoffRing<int>;

TEST(HandoffRingTest, KeepsOrderAndRoundsCapacityUp) {
    Ring ring(3);
    EXPECT_EQ(ring.capacity(), 4u);
    EXPECT_TRUE(ring.empty());
    EXPECT_EQ(ring.front(), nullptr);
    ASSERT_TRUE(ring.try_push(1, "one", "k1"));
    ASSERT_TRUE(ring.try_push(2, "two", ""));
    EXPECT_FALSE(ring.empty());
    Ring::Slot* a = ring.front();
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->tag, 1);
    EXPECT_EQ(a->payload, "one");
    EXPECT_EQ(a->key, "k1");
    ring.pop();
    Ring::Slot* b = ring.front();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->tag, 2);
    EXPECT_EQ(b->payload, "two");
    EXPECT_EQ(b->key, "");
    ring.pop();
    EXPECT_TRUE(ring.empty());
    EXPECT_EQ(ring.front(), nullptr);
}

/// A slot's headers as "name=value" strings.
std::vector<std::string> headers_of(const Ring::Slot& slot) {
    std::vector<std::string> out;
    slot.for_each_header([&out](std::string_view name, std::string_view value) {
        out.push_back(std::string(name) + "=" + std::string(value));
    });
    return out;
}

TEST(HandoffRingTest, CarriesHeadersAndATimestampWholeAndAPlainRecordAfterThemHasNone) {
    Ring ring(2);
    const std::string binary("\0\xff\n", 3);
    const RecordHeader headers[] = {{"trace", "abc"}, {"", ""}, {"bin", binary}};
    ASSERT_TRUE(ring.try_push(1, "meta", "k", headers, 1'700'000'000'123));
    ASSERT_TRUE(ring.try_push(2, "plain", ""));
    Ring::Slot* meta = ring.front();
    ASSERT_NE(meta, nullptr);
    EXPECT_TRUE(meta->has_metadata());
    EXPECT_EQ(meta->timestamp_ms(), 1'700'000'000'123);
    EXPECT_EQ(headers_of(*meta), (std::vector<std::string>{"trace=abc", "=", "bin=" + binary}));
    ring.pop();
    Ring::Slot* plain = ring.front();
    ASSERT_NE(plain, nullptr);
    EXPECT_FALSE(plain->has_metadata());
    ring.pop();
    // The slot that held the headers, reused by a plain record: none of them left.
    ASSERT_TRUE(ring.try_push(3, "plain again", ""));
    ASSERT_NE(ring.front(), nullptr);
    EXPECT_FALSE(ring.front()->has_metadata());
    EXPECT_TRUE(headers_of(*ring.front()).empty());
    const RecordHeader stamp_only[] = {{"x", "y"}};
    ASSERT_TRUE(ring.try_push(4, "headers only", "", stamp_only));
    ring.pop();
    ASSERT_NE(ring.front(), nullptr);
    EXPECT_TRUE(ring.front()->has_metadata());
    EXPECT_EQ(ring.front()->timestamp_ms(), 0);
    EXPECT_EQ(headers_of(*ring.front()), (std::vector<std::string>{"x=y"}));
}

TEST(HandoffRingTest, FullRingRefusesUntilTheConsumerPops) {
    Ring ring(4);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(ring.try_push(i, "r" + std::to_string(i), ""));
    EXPECT_FALSE(ring.try_push(4, "r4", "")) << "a full ring takes nothing";
    ASSERT_NE(ring.front(), nullptr);
    EXPECT_EQ(ring.front()->payload, "r0");
    ring.pop();
    EXPECT_TRUE(ring.try_push(4, "r4", ""));
    std::vector<std::string> seen;
    while (Ring::Slot* s = ring.front()) {
        seen.push_back(s->payload);
        ring.pop();
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"r1", "r2", "r3", "r4"}));
}

TEST(HandoffRingTest, ALargeRecordDoesNotStayResident) {
    Ring ring(2);
    ASSERT_TRUE(ring.try_push(0, std::string(100000, 'x'), ""));
    ASSERT_NE(ring.front(), nullptr);
    ring.pop(4096);
    ASSERT_TRUE(ring.try_push(1, "a", ""));
    ASSERT_TRUE(ring.try_push(2, "b", ""));  // lands in the slot the large record used
    ring.pop();
    Ring::Slot* reused = ring.front();
    ASSERT_NE(reused, nullptr);
    EXPECT_EQ(reused->payload, "b");
    EXPECT_LE(reused->payload.capacity(), 4096u);
    ring.pop();
    const std::string huge(100000, 'h');
    const RecordHeader large[] = {{"big", huge}};
    ASSERT_TRUE(ring.try_push(3, "c", "", large));
    ASSERT_GT(ring.front()->metadata.capacity(), 4096u);
    ring.pop(4096);
    ASSERT_TRUE(ring.try_push(4, "d", ""));
    ring.pop();
    ASSERT_TRUE(ring.try_push(5, "e", ""));  // in the slot the large headers used
    ASSERT_NE(ring.front(), nullptr);
    EXPECT_EQ(ring.front()->payload, "e");
    EXPECT_LE(ring.front()->metadata.capacity(), 4096u) << "large headers are not kept either";
}

TEST(HandoffRingTest, EveryRecordOfSeveralProducersComesOutOnceInEachProducersOrder) {
    constexpr int producers = 4;
    constexpr int per_producer = 50000;
    Ring ring(256);  // small: producers meet a full ring often
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
            for (int i = 0; i < per_producer; ++i) {
                const std::string payload = std::to_string(p) + ":" + std::to_string(i);
                while (!ring.try_push(p, payload, "")) {
                    refused.fetch_add(1, std::memory_order_relaxed);
                    std::this_thread::yield();
                }
            }
        });
    }
    std::vector<int> next(producers, 0);
    int received = 0;
    int out_of_order = 0;
    while (received < producers * per_producer) {
        Ring::Slot* s = ring.front();
        if (s == nullptr) {
            std::this_thread::yield();
            continue;
        }
        const auto colon = s->payload.find(':');
        const int p = std::stoi(s->payload.substr(0, colon));
        const int i = std::stoi(s->payload.substr(colon + 1));
        EXPECT_EQ(p, s->tag);
        if (i != next[static_cast<std::size_t>(p)]) ++out_of_order;
        next[static_cast<std::size_t>(p)] = i + 1;
        ++received;
        ring.pop();
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(out_of_order, 0);
    for (int p = 0; p < producers; ++p) EXPECT_EQ(next[static_cast<std::size_t>(p)], per_producer);
    EXPECT_TRUE(ring.empty());
    EXPECT_EQ(ring.front(), nullptr);
}

TEST(HandoffRingTest, OneThreadAtATimeHoldsTheConsumersRole) {
    Ring ring(4);
    ASSERT_TRUE(ring.try_lock_consumer());
    EXPECT_FALSE(ring.try_lock_consumer()) << "held: a second taker is refused";
    std::atomic<bool> taken{false};
    std::thread other([&] {
        Ring::ConsumerLock lock(ring);  // waits for the first holder
        taken = true;
    });
    EXPECT_FALSE(taken.load());
    ring.unlock_consumer();
    other.join();
    EXPECT_TRUE(taken.load());
    EXPECT_TRUE(ring.try_lock_consumer()) << "the scoped holder gave the role back";
    ring.unlock_consumer();
}

}  // namespace
}  // namespace kafka_log::detail
