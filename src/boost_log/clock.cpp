// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/clock.hpp"

#include <time.h>

#include <boost/date_time/gregorian/gregorian_types.hpp>
#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/log/attributes/attribute_value_impl.hpp>

namespace kafka_log {

namespace {

using boost::posix_time::ptime;

/// The calling thread's clock: the time of the current second, converted once (with
/// `convert`, localtime_r or gmtime_r), plus each call's microseconds.
template <struct tm* (*Convert)(const time_t*, struct tm*)>
ptime now() noexcept {
    struct SecondCache {
        time_t second = -1;
        ptime start;  // the time at the start of `second`
    };
    thread_local SecondCache cache;
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cache.second) {
        struct tm parts {};
        if (Convert(&ts.tv_sec, &parts) == nullptr) {
            // Out of range for struct tm (not a time a running clock gives): the epoch's own
            // arithmetic, in UTC.
            return ptime(boost::gregorian::date(1970, 1, 1)) + boost::posix_time::seconds(static_cast<long>(ts.tv_sec));
        }
        cache.start = ptime(boost::gregorian::date(static_cast<unsigned short>(parts.tm_year + 1900),
                                                   static_cast<unsigned short>(parts.tm_mon + 1),
                                                   static_cast<unsigned short>(parts.tm_mday)),
                            boost::posix_time::time_duration(parts.tm_hour, parts.tm_min, parts.tm_sec));
        cache.second = ts.tv_sec;
    }
    return cache.start + boost::posix_time::microseconds(ts.tv_nsec / 1000);
}

template <struct tm* (*Convert)(const time_t*, struct tm*)>
class ClockImpl : public boost::log::attribute::impl {
public:
    boost::log::attribute_value get_value() override {
        return boost::log::attributes::make_attribute_value(now<Convert>());
    }
};

}  // namespace

class LocalClock::Impl final : public ClockImpl<&::localtime_r> {};
class UtcClock::Impl final : public ClockImpl<&::gmtime_r> {};

LocalClock::LocalClock() : boost::log::attribute(new Impl()) {}
LocalClock::LocalClock(const boost::log::attributes::cast_source& source)
    : boost::log::attribute(source.as<Impl>()) {}

UtcClock::UtcClock() : boost::log::attribute(new Impl()) {}
UtcClock::UtcClock(const boost::log::attributes::cast_source& source) : boost::log::attribute(source.as<Impl>()) {}

}  // namespace kafka_log
