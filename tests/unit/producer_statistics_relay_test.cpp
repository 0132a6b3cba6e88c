// SPDX-License-Identifier: Apache-2.0
// StatisticsRelay: documents leave the poll thread at once; the user's callback runs on the
// relay's thread (a blocked callback blocks no offer; the newest document waits), its
// exceptions are counted and the first printed; the figures reach ClientStats.

#include "../../src/core/producer/statistics_relay.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kafka_log::detail {
namespace {

using namespace std::chrono_literals;

/// What the callback saw, and a gate that holds it.
struct Seen {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> documents;
    bool gate_open = true;

    void add(std::string_view json) {
        std::unique_lock lock(mutex);
        documents.emplace_back(json);
        changed.notify_all();
        changed.wait(lock, [&] { return gate_open; });
    }
    bool wait_for(std::size_t n) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, 10s, [&] { return documents.size() >= n; });
    }
    void open() {
        std::lock_guard lock(mutex);
        gate_open = true;
        changed.notify_all();
    }
};

TEST(StatisticsRelayTest, EnabledOnlyByAPositiveInterval) {
    EXPECT_FALSE(StatisticsRelay::enabled_by(ProducerConfig{}));
    EXPECT_FALSE(StatisticsRelay::enabled_by(ProducerConfig{{"statistics.interval.ms", "0"}}));
    EXPECT_TRUE(StatisticsRelay::enabled_by(ProducerConfig{{"statistics.interval.ms", "100"}}));
    EXPECT_FALSE(StatisticsRelay(nullptr, false).enabled());
    EXPECT_EQ(StatisticsRelay(nullptr, false).stats().reports, 0u);
}

TEST(StatisticsRelayTest, ABlockedCallbackBlocksNoOfferAndTheNewestDocumentWaits) {
    Seen seen;
    seen.gate_open = false;
    StatisticsRelay relay([&](std::string_view json) { seen.add(json); }, true);
    relay.offer(R"({"msg_cnt": 1})");
    ASSERT_TRUE(seen.wait_for(1));  // the callback is in, held at the gate
    relay.offer(R"({"msg_cnt": 2})");
    relay.offer(R"({"msg_cnt": 3, "msg_size": 30})");  // replaces the one before
    seen.open();
    ASSERT_TRUE(seen.wait_for(2));
    {
        std::lock_guard lock(seen.mutex);
        EXPECT_EQ(seen.documents.back(), R"({"msg_cnt": 3, "msg_size": 30})");
    }
    const ClientStats stats = relay.stats();
    EXPECT_EQ(stats.reports, 2u);
    EXPECT_EQ(stats.queue_records, 3u);
    EXPECT_EQ(stats.queue_bytes, 30u);
}

TEST(StatisticsRelayTest, CallbackExceptionsAreCountedAndTheFirstIsPrinted) {
    Seen seen;
    StatisticsRelay relay(
        [&](std::string_view json) {
            seen.add(json);
            throw std::runtime_error("dashboard down");
        },
        true);
    ::testing::internal::CaptureStderr();
    relay.offer("{}");
    ASSERT_TRUE(seen.wait_for(1));
    relay.offer("not json");  // malformed: counted, and still handed to the callback
    ASSERT_TRUE(seen.wait_for(2));
    // The count follows the callback's return: wait for the relay to take a third document.
    relay.offer(R"({"brokers": {"b": {"rtt": {"avg": 700, "p99": 900}}}})");
    ASSERT_TRUE(seen.wait_for(3));
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (relay.stats().callback_failures < 3 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();  // the relay increments right after the callback returns
    }
    const std::string printed = ::testing::internal::GetCapturedStderr();
    const ClientStats stats = relay.stats();
    EXPECT_EQ(stats.callback_failures, 3u);
    EXPECT_EQ(stats.reports, 2u);
    EXPECT_EQ(stats.malformed_reports, 1u);
    EXPECT_EQ(stats.broker_rtt_avg_us, 700u);
    EXPECT_EQ(stats.broker_rtt_p99_us, 900u);
    EXPECT_NE(printed.find("stats_callback threw: dashboard down"), std::string::npos) << printed;
    EXPECT_EQ(printed.find("threw", printed.find("threw") + 1), std::string::npos)
        << "printed once: " << printed;
}

}  // namespace
}  // namespace kafka_log::detail
