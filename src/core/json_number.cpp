// SPDX-License-Identifier: Apache-2.0
#include "../detail/json_number.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>

namespace kafka_log::detail {

char* write_json_double(char* at, double value) noexcept {
    if (std::isnan(value) || std::isinf(value)) {
        const std::string_view text = std::isnan(value) ? "\"NaN\""
                                      : value > 0       ? "\"Infinity\""
                                                        : "\"-Infinity\"";
        std::memcpy(at, text.data(), text.size());
        return at + text.size();
    }
    return std::to_chars(at, at + json_double_room, value).ptr;
}

}  // namespace kafka_log::detail
