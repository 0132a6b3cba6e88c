// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/clock.hpp"

#include <time.h>

#include <cstddef>
#include <new>

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
            return ptime(boost::gregorian::date(1970, 1, 1)) +
                   boost::posix_time::seconds(static_cast<long>(ts.tv_sec));
        }
        cache.start =
            ptime(boost::gregorian::date(static_cast<unsigned short>(parts.tm_year + 1900),
                                         static_cast<unsigned short>(parts.tm_mon + 1),
                                         static_cast<unsigned short>(parts.tm_mday)),
                  boost::posix_time::time_duration(parts.tm_hour, parts.tm_min, parts.tm_sec));
        cache.second = ts.tv_sec;
    }
    return cache.start + boost::posix_time::microseconds(ts.tv_nsec / 1000);
}

// A record's time value is made on the logging thread and, with a synchronous sink, released
// there too when the record ends: each thread keeps a few released blocks for its next values
// instead of a malloc and a free per record. A block released on another thread (an
// asynchronous sink's) joins that thread's spares, or the heap when it has enough.
struct SpareBlock {
    SpareBlock* next;
};
thread_local SpareBlock* t_spares =
    nullptr;  // trivially destructible: usable until the thread ends
thread_local unsigned t_spare_count = 0;
thread_local bool t_spares_closed = false;
constexpr unsigned max_spares = 64;

/// Gives the spares back to the heap when the thread ends, and takes no more after.
struct SpareRelease {
    ~SpareRelease() {
        t_spares_closed = true;
        while (t_spares != nullptr) {
            SpareBlock* block = t_spares;
            t_spares = block->next;
            ::operator delete(block);
        }
        t_spare_count = 0;
    }
};
thread_local SpareRelease t_spare_release;

class TimeValue final : public boost::log::attributes::attribute_value_impl<ptime> {
public:
    explicit TimeValue(const ptime& time) : attribute_value_impl<ptime>(time) {}

    static void* operator new(std::size_t size) {
        if (size == sizeof(TimeValue) && t_spares != nullptr) {
            SpareBlock* block = t_spares;
            t_spares = block->next;
            --t_spare_count;
            return block;
        }
        return ::operator new(size);
    }
    static void operator delete(void* p, std::size_t size) noexcept {
        if (size == sizeof(TimeValue) && !t_spares_closed && t_spare_count < max_spares) {
            static_cast<void>(&t_spare_release);  // registers the release at thread exit
            auto* block = static_cast<SpareBlock*>(p);
            block->next = t_spares;
            t_spares = block;
            ++t_spare_count;
            return;
        }
        ::operator delete(p);
    }
};
static_assert(sizeof(TimeValue) >= sizeof(SpareBlock));

template <struct tm* (*Convert)(const time_t*, struct tm*)>
class ClockImpl : public boost::log::attribute::impl {
public:
    boost::log::attribute_value get_value() override {
        return boost::log::attribute_value(new TimeValue(now<Convert>()));
    }
};

}  // namespace

class LocalClock::Impl final : public ClockImpl<&::localtime_r> {};
class UtcClock::Impl final : public ClockImpl<&::gmtime_r> {};

LocalClock::LocalClock() : boost::log::attribute(new Impl()) {}
LocalClock::LocalClock(const boost::log::attributes::cast_source& source)
    : boost::log::attribute(source.as<Impl>()) {}

UtcClock::UtcClock() : boost::log::attribute(new Impl()) {}
UtcClock::UtcClock(const boost::log::attributes::cast_source& source)
    : boost::log::attribute(source.as<Impl>()) {}

}  // namespace kafka_log
