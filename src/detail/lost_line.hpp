// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/uio.h>
#include <unistd.h>

#include <string_view>

namespace kafka_log::detail {

/// The last resort for a record neither Kafka nor the fallback kept: one writev to fd 2,
/// `kafka_log[lost]: <record>\n`, so the line is not split by other writers of stderr.
inline void write_lost_line(std::string_view payload) noexcept {
    static constexpr std::string_view prefix = "kafka_log[lost]: ";
    const bool add_newline = payload.empty() || payload.back() != '\n';
    char newline = '\n';
    iovec parts[3] = {{const_cast<char*>(prefix.data()), prefix.size()},
                      {const_cast<char*>(payload.data()), payload.size()},
                      {&newline, 1}};
    [[maybe_unused]] const ssize_t n = ::writev(STDERR_FILENO, parts, add_newline ? 3 : 2);
}

}  // namespace kafka_log::detail
