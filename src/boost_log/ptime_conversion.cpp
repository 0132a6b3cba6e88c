// SPDX-License-Identifier: Apache-2.0
#include "ptime_conversion.hpp"

#include <cstdint>
#include <ctime>

#include <boost/date_time/posix_time/posix_time_types.hpp>

namespace kafka_log::detail {

std::chrono::system_clock::time_point to_time_point(const boost::posix_time::ptime& t,
                                                    bool is_utc) {
    using Clock = std::chrono::system_clock;
    static const boost::posix_time::ptime epoch(boost::gregorian::date(1970, 1, 1));
    const auto since_epoch = t - epoch;
    const std::int64_t total_us = since_epoch.total_microseconds();
    std::int64_t seconds = total_us / 1000000;
    std::int64_t micros = total_us % 1000000;
    if (micros < 0) {
        micros += 1000000;
        --seconds;
    }
    // The clock holds about 292 years either side of 1970: a time beyond is written as the
    // clock's first or last second rather than overflowing.
    constexpr std::int64_t limit =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::duration::max()).count() - 1;
    const auto clamp = [](std::int64_t s) { return s > limit ? limit : s < -limit ? -limit : s; };
    seconds = clamp(seconds);
    if (!is_utc) {
        // Wall-clock seconds -> epoch seconds through the local zone; one mktime per second
        // per thread.
        thread_local std::int64_t cached_wall = -1;
        thread_local std::int64_t cached_epoch = 0;
        if (seconds != cached_wall) {
            std::time_t wall = static_cast<std::time_t>(seconds);
            std::tm tm{};
            ::gmtime_r(&wall, &tm);
            tm.tm_isdst = -1;
            cached_epoch = static_cast<std::int64_t>(std::mktime(&tm));
            cached_wall = seconds;
        }
        seconds = clamp(cached_epoch);
    }
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::seconds(seconds) + std::chrono::microseconds(micros)));
}

}  // namespace kafka_log::detail
