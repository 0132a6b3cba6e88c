// SPDX-License-Identifier: Apache-2.0
#include "../../src/detail/record_id.hpp"

#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kafka_log::detail {
namespace {

using ::testing::MatchesRegex;

TEST(RecordIdTest, WritesHostPidSequenceQuotedOrNotWithinItsRoom) {
    RecordIds& ids = RecordIds::instance();
    const std::string pid = std::to_string(::getpid());
    std::string buffer(ids.room(), '\0');
    const std::string quoted(buffer.data(), ids.write(buffer.data(), true));
    EXPECT_THAT(quoted, MatchesRegex("\".+-" + pid + "-[0-9]+\""));
    const std::string plain(buffer.data(), ids.write(buffer.data(), false));
    EXPECT_THAT(plain, MatchesRegex(".+-" + pid + "-[0-9]+"));
    EXPECT_LE(quoted.size(), ids.room());
    EXPECT_NE(quoted.substr(1, quoted.size() - 2), plain);
}

TEST(RecordIdTest, SequenceNumbersAreUniqueAcrossThreads) {
    constexpr int per_thread = 5000;  // more than a thread's block of ids
    std::vector<std::vector<std::uint64_t>> taken(4);
    std::vector<std::thread> threads;
    for (auto& numbers : taken) {
        threads.emplace_back([&numbers] {
            for (int i = 0; i < per_thread; ++i) numbers.push_back(RecordIds::instance().next());
        });
    }
    for (std::thread& t : threads) t.join();
    std::set<std::uint64_t> all;
    for (const auto& numbers : taken) all.insert(numbers.begin(), numbers.end());
    EXPECT_EQ(all.size(), taken.size() * per_thread);
}

TEST(RecordIdTest, NextIdIsTheWrittenTextUnquoted) {
    const std::string a = RecordIds::instance().next_id();
    const std::string b = RecordIds::instance().next_id();
    EXPECT_NE(a, b);
    EXPECT_EQ(a.substr(0, a.rfind('-')), b.substr(0, b.rfind('-'))) << "the same host-pid prefix";
}

}  // namespace
}  // namespace kafka_log::detail
