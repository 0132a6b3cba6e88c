// SPDX-License-Identifier: Apache-2.0
#pragma once

// ReportFields: what produce() was given that the record's delivery report must hand back,
// carried through librdkafka as the message's opaque pointer.
//
// The timestamp travels this way because librdkafka reports none for a failed record
// (rd_kafka_message_timestamp is -1 then), the caller's token because librdkafka knows nothing
// of it. Most records carry neither and get a null opaque. The fields are packed into the
// pointer's bits, so a record costs no allocation:
//   - bit 63 clear, bit 62 clear: a timestamp in (0, 2^62);
//   - bit 62 set: a token (below 2^62), no timestamp;
//   - bit 63 set: a heap copy of both (both given, or a timestamp out of that range), freed
//     by unpack().

#include <cstdint>
#include <memory>
#include <new>

namespace kafka_log::detail {

struct ReportFields {
    std::int64_t timestamp_ms = 0;  ///< 0: none given
    std::uint64_t token = 0;        ///< 0: none given

    /// The opaque for a record with these fields. Never throws; a token alone never
    /// allocates. When the heap copy cannot be made the timestamp is dropped, not the token.
    static void* pack(std::int64_t timestamp_ms, std::uint64_t token) noexcept {
        token &= token_bit - 1;
        if (token == 0 && timestamp_ms >= 0 &&
            static_cast<std::uint64_t>(timestamp_ms) < token_bit) {
            return to_pointer(static_cast<std::uint64_t>(timestamp_ms));
        }
        if (timestamp_ms == 0) return to_pointer(token_bit | token);
        auto* both = new (std::nothrow) ReportFields{timestamp_ms, token};
        if (both == nullptr) return to_pointer(token_bit | token);
        return to_pointer(reinterpret_cast<std::uintptr_t>(both) | heap_bit);
    }

    /// The fields an opaque carries; frees what it owned, so call it once per packed opaque
    /// (from the record's report, or at once when librdkafka refused the record).
    static ReportFields unpack(void* opaque) noexcept {
        const auto bits = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(opaque));
        if ((bits & heap_bit) != 0) {
            const std::unique_ptr<ReportFields> both(
                reinterpret_cast<ReportFields*>(static_cast<std::uintptr_t>(bits & ~heap_bit)));
            return *both;
        }
        if ((bits & token_bit) != 0) return ReportFields{0, bits & (token_bit - 1)};
        return ReportFields{static_cast<std::int64_t>(bits), 0};
    }

private:
    static constexpr std::uint64_t token_bit = std::uint64_t{1} << 62;
    static constexpr std::uint64_t heap_bit = std::uint64_t{1} << 63;
    static_assert(sizeof(void*) == sizeof(std::uint64_t), "the packing needs 64-bit pointers");

    static void* to_pointer(std::uint64_t bits) noexcept {
        return reinterpret_cast<void*>(static_cast<std::uintptr_t>(bits));
    }
};

}  // namespace kafka_log::detail
