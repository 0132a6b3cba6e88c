// SPDX-License-Identifier: Apache-2.0
#include "../../src/detail/rfc3339_time.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kafka_log::detail {
namespace {

using std::chrono::milliseconds;
using ::testing::MatchesRegex;
using Time = std::chrono::system_clock::time_point;

std::string text(Time t, bool utc, bool quoted) {
    char buffer[rfc3339_room];
    return std::string(buffer, write_rfc3339(buffer, t, utc, quoted));
}

TEST(Rfc3339TimeTest, UtcWithMillisecondsQuotedOrNot) {
    const Time t{milliseconds(1795561846518LL)};  // 2026-11-24T23:10:46.518Z
    EXPECT_EQ(text(t, true, false), "2026-11-24T23:10:46.518+00:00");
    EXPECT_EQ(text(t, true, true), "\"2026-11-24T23:10:46.518+00:00\"");
}

TEST(Rfc3339TimeTest, MillisecondsChangeWithinTheCachedSecond) {
    const Time second{milliseconds(1795561846000LL)};
    EXPECT_EQ(text(second, true, false), "2026-11-24T23:10:46.000+00:00");
    EXPECT_EQ(text(second + milliseconds(7), true, false), "2026-11-24T23:10:46.007+00:00");
    EXPECT_EQ(text(second + milliseconds(999), true, true), "\"2026-11-24T23:10:46.999+00:00\"");
    EXPECT_EQ(text(second + milliseconds(1000), true, false), "2026-11-24T23:10:47.000+00:00");
    EXPECT_EQ(text(second - milliseconds(1), true, false), "2026-11-24T23:10:45.999+00:00");
}

TEST(Rfc3339TimeTest, BeforeTheEpochRoundsDown) {
    EXPECT_EQ(text(Time{milliseconds(-1)}, true, false), "1969-12-31T23:59:59.999+00:00");
    EXPECT_EQ(text(Time{milliseconds(-1000)}, true, false), "1969-12-31T23:59:59.000+00:00");
    EXPECT_EQ(text(Time{}, true, false), "1970-01-01T00:00:00.000+00:00");
}

TEST(Rfc3339TimeTest, LocalTimeCarriesTheZonesOffset) {
    const Time t{milliseconds(1795561846518LL)};
    const std::string local = text(t, false, false);
    EXPECT_THAT(local, MatchesRegex(R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})"
                                    R"(\.518[+-][0-9]{2}:[0-9]{2}$)"));
    // The same instant: the local wall clock minus the offset is the UTC text's.
    const std::time_t tt = 1795561846;
    std::tm tm{};
    ::localtime_r(&tt, &tm);
    const long offset = tm.tm_gmtoff;
    const long hours = std::labs(offset) / 3600;
    const long minutes = (std::labs(offset) % 3600) / 60;
    char expected_offset[32];
    std::snprintf(expected_offset, sizeof expected_offset, "%c%02ld:%02ld", offset < 0 ? '-' : '+',
                  hours, minutes);
    EXPECT_EQ(local.substr(local.size() - 6), expected_offset);
    // Alternating zones on one thread: the per-second cache keeps them apart.
    EXPECT_EQ(text(t, true, false), "2026-11-24T23:10:46.518+00:00");
    EXPECT_EQ(text(t, false, false), local);
}

}  // namespace
}  // namespace kafka_log::detail
