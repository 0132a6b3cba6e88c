// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief LocalClock and UtcClock: Boost.Log time attributes that never take glibc's time
/// zone lock on the logging path.

#include <boost/date_time/posix_time/ptime.hpp>
#include <boost/log/attributes/attribute.hpp>
#include <boost/log/attributes/attribute_cast.hpp>

#include "kafka_log/export.hpp"

namespace kafka_log {

/// \brief The value of `boost::log::attributes::local_clock` (local time as a
/// `boost::posix_time::ptime`, microseconds), made without calling `localtime_r` per record.
///
/// Boost.Log's clocks convert every record's time with `localtime_r` / `gmtime_r`, and glibc
/// serializes those calls on one process-wide lock: threads that log at once wait for each
/// other there, in the kernel once the lock is contended. LocalClock reads the time with
/// `clock_gettime` and converts it once a second per thread (the local time of that second,
/// to which each record adds its microseconds), so threads share nothing. Each thread also
/// keeps up to 64 released values' memory for its next ones: no malloc per record.
///
/// Register it as `TimeStamp` before `add_common_attributes()`, which then leaves it in place:
/// \code
///   boost::log::core::get()->add_global_attribute("TimeStamp", kafka_log::LocalClock());
///   boost::log::add_common_attributes();
/// \endcode
/// json_formatter, Boost.Log's `format_date_time` and anything else that reads a `ptime`
/// `TimeStamp` read it as they read Boost.Log's own clock's.
///
/// The local time zone is read as `localtime_r` reads it: a change of the `TZ` variable takes
/// effect after `tzset()`, within a second.
class KAFKA_LOG_EXPORT LocalClock : public boost::log::attribute {
public:
    using value_type = boost::posix_time::ptime;

    LocalClock();
    /// For `boost::log::attribute_cast`.
    explicit LocalClock(const boost::log::attributes::cast_source& source);

    class Impl;
};

/// \brief UTC, as `boost::log::attributes::utc_clock` gives it (a `ptime`, microseconds), with
/// the same per-thread cache as LocalClock. Tell json_formatter with
/// `JsonOptions::time_attribute_is_utc`.
class KAFKA_LOG_EXPORT UtcClock : public boost::log::attribute {
public:
    using value_type = boost::posix_time::ptime;

    UtcClock();
    /// For `boost::log::attribute_cast`.
    explicit UtcClock(const boost::log::attributes::cast_source& source);

    class Impl;
};

}  // namespace kafka_log
