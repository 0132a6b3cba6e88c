// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kafka_log::detail {

/// CRC-32C (Castagnoli, the polynomial iSCSI, ext4 and Kafka's record batches use), continued
/// from `crc` over `size` bytes: start with 0, feed the pieces in order, and the result is the
/// CRC of their concatenation. SSE4.2's crc32 instruction when the CPU has it, a table
/// otherwise; both give the same values.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size) noexcept;

inline std::uint32_t crc32c(std::string_view bytes) noexcept {
    return crc32c_extend(0, bytes.data(), bytes.size());
}

}  // namespace kafka_log::detail
