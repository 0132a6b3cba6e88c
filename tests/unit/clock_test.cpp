// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/clock.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/date_time/posix_time/posix_time.hpp>
#include <boost/log/attributes/attribute_cast.hpp>
#include <boost/log/attributes/clock.hpp>
#include <boost/log/attributes/value_extraction.hpp>

namespace kafka_log {
namespace {

namespace attrs = boost::log::attributes;
using boost::posix_time::ptime;

ptime read(const boost::log::attribute& clock) {
    const boost::log::attribute_value held = clock.get_value();  // extract() refers into it
    const auto value = boost::log::extract<ptime>(held);
    EXPECT_TRUE(static_cast<bool>(value)) << "the value is a boost::posix_time::ptime";
    return value ? *value : ptime();
}

/// Sets TZ for the test's lifetime and restores it after.
class ScopedTimeZone {
public:
    explicit ScopedTimeZone(const char* zone) {
        if (const char* old = std::getenv("TZ")) old_ = old;
        ::setenv("TZ", zone, 1);
        ::tzset();
    }
    ~ScopedTimeZone() {
        if (old_) {
            ::setenv("TZ", old_->c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }

private:
    std::optional<std::string> old_;
};

/// Reads `ours` between two readings of `theirs` until the second has changed twice (the
/// per-thread cache is refreshed at each change), or for at most 5 s.
void reads_between(const boost::log::attribute& theirs, const boost::log::attribute& ours) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int changes = 0;
    long last_second = -1;
    for (long i = 0; changes < 3 && std::chrono::steady_clock::now() < deadline; ++i) {
        const ptime before = read(theirs);
        const ptime now = read(ours);
        const ptime after = read(theirs);
        ASSERT_LE(before, now) << "read " << i;
        ASSERT_LE(now, after) << "read " << i;
        const long second = now.time_of_day().total_seconds();
        if (second != last_second) ++changes;
        last_second = second;
    }
    EXPECT_EQ(changes, 3) << "two second boundaries crossed";
}

TEST(ClockTest, LocalClockReadsWhatBoostLogsLocalClockReads) {
    reads_between(attrs::local_clock(), LocalClock());
}

TEST(ClockTest, UtcClockReadsWhatBoostLogsUtcClockReads) {
    reads_between(attrs::utc_clock(), UtcClock());
}

TEST(ClockTest, LocalClockFollowsTheTimeZone) {
    // POSIX TZ without tzdata: "IST-5:30" is UTC+05:30. A fresh thread has no cached second.
    ScopedTimeZone zone("IST-5:30");
    ptime local;
    ptime utc;
    std::thread([&] {
        utc = read(UtcClock());
        local = read(LocalClock());
    }).join();
    const auto offset = local - utc;
    EXPECT_GE(offset, boost::posix_time::hours(5) + boost::posix_time::minutes(30));
    EXPECT_LT(offset, boost::posix_time::hours(5) + boost::posix_time::minutes(30) +
                          boost::posix_time::seconds(2));
}

TEST(ClockTest, ValuesOutliveTheirThreadAndEndOnAnother) {
    // Values are made from per-thread spare blocks: made on one thread, they stay readable
    // after it ended and may be released anywhere (an asynchronous sink's thread).
    const attrs::utc_clock boost_clock;
    const ptime before = read(boost_clock);
    std::vector<boost::log::attribute_value> values;
    std::thread([&] {
        const UtcClock clock;
        for (int round = 0; round < 3; ++round) {
            std::vector<boost::log::attribute_value> batch;
            for (int i = 0; i < 200; ++i) batch.push_back(clock.get_value());
            if (round == 2) values = std::move(batch);  // the others end here, on this thread
        }
    }).join();
    const ptime after = read(boost_clock);
    ASSERT_EQ(values.size(), 200u);
    for (const auto& value : values) {
        const auto time = boost::log::extract<ptime>(value);
        ASSERT_TRUE(static_cast<bool>(time));
        EXPECT_LE(before, *time);
        EXPECT_LE(*time, after);
    }
    values.clear();  // released on this thread
    const UtcClock clock;
    for (int i = 0; i < 1000; ++i) EXPECT_LE(before, read(clock));
}

TEST(ClockTest, AttributeCastFindsOurClockOnly) {
    const boost::log::attribute ours = LocalClock();
    const boost::log::attribute theirs = attrs::local_clock();
    EXPECT_TRUE(static_cast<bool>(boost::log::attribute_cast<LocalClock>(ours)));
    EXPECT_FALSE(static_cast<bool>(boost::log::attribute_cast<LocalClock>(theirs)));
    EXPECT_FALSE(static_cast<bool>(boost::log::attribute_cast<UtcClock>(ours)));
}

}  // namespace
}  // namespace kafka_log
