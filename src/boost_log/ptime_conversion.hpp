// SPDX-License-Identifier: Apache-2.0
#pragma once

// Boost.Log's time attributes (boost::posix_time::ptime, no zone) as system clock times.

#include <chrono>

#include <boost/date_time/posix_time/ptime.hpp>

namespace kafka_log::detail {

/// `t` (not special) as a point on the system clock: `is_utc` says whether it holds UTC
/// (`utc_clock`) or the local wall-clock time (`local_clock`), which is turned into UTC through
/// the local zone, once per second per thread.
std::chrono::system_clock::time_point to_time_point(const boost::posix_time::ptime& t, bool is_utc);

}  // namespace kafka_log::detail
