// SPDX-License-Identifier: Apache-2.0
#pragma once

// RFC 3339 times with milliseconds and the UTC offset, as JSON log records carry them.

#include <chrono>
#include <cstddef>

namespace kafka_log::detail {

/// Bytes write_rfc3339() may write at `at`: it copies a fixed-size block, then says where the
/// text ends.
inline constexpr std::size_t rfc3339_room = 64;

/// Writes `2026-11-24T23:10:46.518+00:00` (or the local time and its offset when `utc` is
/// false) at `at`, in double quotes when `quoted`, and returns the end of the text. `at` must
/// have rfc3339_room bytes. The calendar and offset are worked out once per second per thread:
/// records come in bursts within a second, so most cost a copy and three digits.
char* write_rfc3339(char* at, std::chrono::system_clock::time_point t, bool utc,
                    bool quoted) noexcept;

}  // namespace kafka_log::detail
