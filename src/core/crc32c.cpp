// SPDX-License-Identifier: Apache-2.0
#include "../detail/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace kafka_log::detail {

namespace {

constexpr std::uint32_t polynomial = 0x82F63B78U;  // CRC-32C, reflected

constexpr std::array<std::uint32_t, 256> make_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int bit = 0; bit < 8; ++bit) c = (c & 1U) != 0 ? (c >> 1) ^ polynomial : c >> 1;
        table[i] = c;
    }
    return table;
}

constexpr auto table = make_table();

std::uint32_t extend_table(std::uint32_t crc, const unsigned char* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFFU] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t extend_sse42(std::uint32_t crc,
                                                             const unsigned char* p,
                                                             std::size_t n) noexcept {
    std::uint64_t c = crc;
    while (n >= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        n -= 8;
    }
    auto c32 = static_cast<std::uint32_t>(c);
    while (n > 0) {
        c32 = _mm_crc32_u8(c32, *p);
        ++p;
        --n;
    }
    return c32;
}

const bool have_sse42 = [] {
    __builtin_cpu_init();  // may run before the compiler's own initialization of the CPU model
    return __builtin_cpu_supports("sse4.2") != 0;
}();
#endif

}  // namespace

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
#if defined(__x86_64__)
    crc = have_sse42 ? extend_sse42(crc, p, size) : extend_table(crc, p, size);
#else
    crc = extend_table(crc, p, size);
#endif
    return ~crc;
}

}  // namespace kafka_log::detail
