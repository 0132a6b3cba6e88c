// SPDX-License-Identifier: Apache-2.0
#pragma once

// The spool's frame encoder: a FallbackRecord as the bytes of one frame (spool_format.hpp).

#include <cstddef>
#include <cstdint>

#include "kafka_log/fallback_writer.hpp"

namespace kafka_log::detail::spool {

/// \brief What a frame holds besides the record's own fields.
struct FrameStamp {
    FallbackReason reason = FallbackReason::delivery_failed;
    bool possibly_persisted = false;
    std::int64_t timestamp_ms = 0;
    std::uint64_t instance = 0;       ///< First half of the record id: the writer instance.
    std::uint64_t record_number = 0;  ///< Second half: the record's number in that instance.
};

/// \brief The body size of `record`'s frame, or 0 when it cannot be framed (a topic name or a
/// header name of over 64 KiB, more than 65535 headers, a 4 GiB record).
std::size_t frame_body_size(const FallbackRecord& record) noexcept;

/// \brief The whole frame's size: header, body and padding to the frame alignment.
std::size_t frame_size(std::size_t body_size) noexcept;

/// \brief Writes the frame of `record` at `base` (zero bytes of at least `frame_size(body)`),
/// its magic last with release order: a frame is whole once its magic is there, for a reader
/// in this process and for the page cache that outlives it.
void encode_frame(unsigned char* base, const FallbackRecord& record, std::size_t body,
                  const FrameStamp& stamp) noexcept;

/// \brief Copies a whole frame (read back from a removed segment) to `base`, its magic last.
void copy_frame(unsigned char* base, const void* frame, std::size_t size) noexcept;

}  // namespace kafka_log::detail::spool
