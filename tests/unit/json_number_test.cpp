// SPDX-License-Identifier: Apache-2.0
#include "../../src/detail/json_number.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace kafka_log::detail {
namespace {

std::string text(double value) {
    char buffer[json_double_room];
    return std::string(buffer, write_json_double(buffer, value));
}

TEST(JsonNumberTest, ShortestTextThatReadsBack) {
    EXPECT_EQ(text(0.25), "0.25");
    EXPECT_EQ(text(0.1), "0.1");
    EXPECT_EQ(text(42), "42");
    EXPECT_EQ(text(-0.0), "-0");
    EXPECT_EQ(text(1e300), "1e+300");
    EXPECT_EQ(text(std::numeric_limits<double>::denorm_min()), "5e-324");
}

TEST(JsonNumberTest, NonFiniteValuesBecomeStrings) {
    EXPECT_EQ(text(std::numeric_limits<double>::quiet_NaN()), "\"NaN\"");
    EXPECT_EQ(text(-std::numeric_limits<double>::quiet_NaN()), "\"NaN\"");
    EXPECT_EQ(text(std::numeric_limits<double>::infinity()), "\"Infinity\"");
    EXPECT_EQ(text(-std::numeric_limits<double>::infinity()), "\"-Infinity\"");
}

TEST(JsonNumberTest, RandomBitPatternsFitTheRoomAndReadBackExactly) {
    std::mt19937_64 rng(20261206);
    for (int i = 0; i < 20000; ++i) {
        const std::uint64_t bits = rng();
        double value;
        std::memcpy(&value, &bits, sizeof value);
        char buffer[json_double_room + 1];
        char* end = write_json_double(buffer, value);
        ASSERT_LE(end - buffer, static_cast<std::ptrdiff_t>(json_double_room));
        if (value != value || value - value != 0) continue;  // NaN, infinities: see above
        *end = '\0';
        ASSERT_EQ(std::strtod(buffer, nullptr), value) << buffer;
    }
}

}  // namespace
}  // namespace kafka_log::detail
