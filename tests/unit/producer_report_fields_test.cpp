// SPDX-License-Identifier: Apache-2.0
// ReportFields: a record's timestamp and token survive the trip through librdkafka's opaque
// pointer in every form, and only the heap form allocates.

#include "../../src/core/producer/report_fields.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace kafka_log::detail {
namespace {

constexpr std::uint64_t high_bit = std::uint64_t{1} << 63;

std::uint64_t bits_of(void* opaque) {
    return reinterpret_cast<std::uintptr_t>(opaque);
}

TEST(ReportFieldsTest, NeitherFieldIsANullOpaque) {
    void* opaque = ReportFields::pack(0, 0);
    EXPECT_EQ(opaque, nullptr);
    const ReportFields fields = ReportFields::unpack(opaque);
    EXPECT_EQ(fields.timestamp_ms, 0);
    EXPECT_EQ(fields.token, 0u);
}

TEST(ReportFieldsTest, ATimestampAloneTravelsInThePointer) {
    void* opaque = ReportFields::pack(1'700'000'000'123, 0);
    EXPECT_EQ(bits_of(opaque) & high_bit, 0u) << "no heap copy";
    const ReportFields fields = ReportFields::unpack(opaque);
    EXPECT_EQ(fields.timestamp_ms, 1'700'000'000'123);
    EXPECT_EQ(fields.token, 0u);
}

TEST(ReportFieldsTest, ATokenAloneTravelsInThePointer) {
    const std::uint64_t token = (std::uint64_t{1} << 62) - 1;  // the largest a caller may give
    void* opaque = ReportFields::pack(0, token);
    EXPECT_EQ(bits_of(opaque) & high_bit, 0u) << "no heap copy";
    const ReportFields fields = ReportFields::unpack(opaque);
    EXPECT_EQ(fields.timestamp_ms, 0);
    EXPECT_EQ(fields.token, token);
}

TEST(ReportFieldsTest, BothFieldsTravelInAHeapCopyFreedByUnpack) {
    void* opaque = ReportFields::pack(42, 7);
    EXPECT_NE(bits_of(opaque) & high_bit, 0u) << "both: a heap copy";
    const ReportFields fields = ReportFields::unpack(opaque);  // LeakSanitizer checks the free
    EXPECT_EQ(fields.timestamp_ms, 42);
    EXPECT_EQ(fields.token, 7u);
}

TEST(ReportFieldsTest, ATimestampOutOfThePointersRangeTakesTheHeapForm) {
    for (const std::int64_t timestamp :
         {std::int64_t{-1}, std::numeric_limits<std::int64_t>::max()}) {
        const ReportFields fields = ReportFields::unpack(ReportFields::pack(timestamp, 0));
        EXPECT_EQ(fields.timestamp_ms, timestamp);
        EXPECT_EQ(fields.token, 0u);
    }
}

TEST(ReportFieldsTest, ATokenKeepsOnlyItsLow62Bits) {
    const ReportFields fields =
        ReportFields::unpack(ReportFields::pack(0, (std::uint64_t{1} << 62) | 5));
    EXPECT_EQ(fields.token, 5u);
}

}  // namespace
}  // namespace kafka_log::detail
