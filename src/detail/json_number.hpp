// SPDX-License-Identifier: Apache-2.0
#pragma once

// Floating-point numbers as JSON values.

#include <cstddef>

namespace kafka_log::detail {

/// Bytes write_json_double() may write at `at`.
inline constexpr std::size_t json_double_room = 32;

/// Writes `value` at `at` as the shortest text that reads back exactly, and returns its end.
/// NaN and the infinities, which JSON cannot hold, become the strings "NaN", "Infinity" and
/// "-Infinity" (quotes included). `at` must have json_double_room bytes.
char* write_json_double(char* at, double value) noexcept;

}  // namespace kafka_log::detail
