// SPDX-License-Identifier: Apache-2.0
#include "../detail/rfc3339_time.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace kafka_log::detail {

namespace {

/// A time split into whole seconds (floor) and milliseconds.
struct SplitTime {
    std::int64_t seconds;
    int millis;
};

SplitTime split(std::chrono::system_clock::time_point t) noexcept {
    using namespace std::chrono;
    const auto ms_since_epoch = duration_cast<milliseconds>(t.time_since_epoch()).count();
    SplitTime out{ms_since_epoch / 1000, static_cast<int>(ms_since_epoch % 1000)};
    if (out.millis < 0) {
        out.millis += 1000;
        --out.seconds;
    }
    return out;
}

/// `"2026-11-24T23:10:46.000+00:00"`, quotes included, for one second: the calendar and the
/// offset are worked out once per second per thread, and each record copies the text and
/// writes its three millisecond digits.
struct TimeText {
    std::int64_t seconds = INT64_MIN;
    bool utc = true;
    char text[rfc3339_room] = {};
    std::size_t size = 0;       // with both quotes
    std::size_t millis_at = 0;  // index of the first millisecond digit
};

const TimeText& time_text(std::int64_t seconds, bool utc) noexcept {
    thread_local TimeText cache;
    if (cache.seconds == seconds && cache.utc == utc) return cache;
    const std::time_t tt = static_cast<std::time_t>(seconds);
    std::tm tm{};
    long gmtoff = 0;
    if (utc) {
        ::gmtime_r(&tt, &tm);
    } else {
        ::localtime_r(&tt, &tm);
        gmtoff = tm.tm_gmtoff;
    }
    const long abs_offset = gmtoff < 0 ? -gmtoff : gmtoff;
    const int n = std::snprintf(
        cache.text, sizeof cache.text, "\"%04d-%02d-%02dT%02d:%02d:%02d.000%c%02ld:%02ld\"",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        gmtoff < 0 ? '-' : '+', abs_offset / 3600, (abs_offset % 3600) / 60);
    cache.size = n > 0 ? std::min(static_cast<std::size_t>(n), sizeof cache.text - 1) : 0;
    const char* dot = static_cast<const char*>(std::memchr(cache.text + 1, '.', cache.size));
    cache.millis_at = dot != nullptr ? static_cast<std::size_t>(dot - cache.text) + 1 : 0;
    cache.seconds = seconds;
    cache.utc = utc;
    return cache;
}

}  // namespace

char* write_rfc3339(char* at, std::chrono::system_clock::time_point t, bool utc,
                    bool quoted) noexcept {
    const SplitTime s = split(t);
    const TimeText& text = time_text(s.seconds, utc);
    if (text.size < 2) {  // a text snprintf could not write
        if (!quoted) return at;
        at[0] = '"';
        at[1] = '"';
        return at + 2;
    }
    // The whole buffer, a fixed size (a few vector moves), then the end of the text.
    std::size_t from = 0;
    std::size_t to = text.size;
    if (quoted) {
        std::memcpy(at, text.text, sizeof text.text);
    } else {
        std::memcpy(at, text.text + 1, sizeof text.text - 1);
        from = 1;
        --to;
    }
    if (text.millis_at >= from && text.millis_at + 3 <= to) {
        char* digits = at + (text.millis_at - from);
        digits[0] = static_cast<char>('0' + s.millis / 100);
        digits[1] = static_cast<char>('0' + s.millis / 10 % 10);
        digits[2] = static_cast<char>('0' + s.millis % 10);
    }
    return at + (to - from);
}

}  // namespace kafka_log::detail
