// SPDX-License-Identifier: Apache-2.0
#include "frame_encoder.hpp"

#include <atomic>
#include <cstring>
#include <string_view>

#include "../../detail/crc32c.hpp"
#include "../../detail/spool_format.hpp"

namespace kafka_log::detail::spool {

namespace {

void publish_magic(unsigned char* base, std::uint32_t magic) noexcept {
    std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(base))
        .store(magic, std::memory_order_release);
}

}  // namespace

std::size_t frame_body_size(const FallbackRecord& record) noexcept {
    std::size_t body = body_fixed_size + 2 + record.topic.size() + 4 + record.key.size() + 4 +
                       record.payload.size();
    for (const RecordHeader& h : record.headers) {
        if (h.name.size() > 0xFFFF) return 0;
        body += 2 + h.name.size() + 4 + h.value.size();
    }
    if (record.topic.size() > 0xFFFF || record.headers.size() > 0xFFFF || body > 0xFFFF'0000U) {
        return 0;
    }
    return body;
}

std::size_t frame_size(std::size_t body_size) noexcept {
    return align_up(frame_header_size + body_size);
}

void encode_frame(unsigned char* base, const FallbackRecord& record, std::size_t body,
                  const FrameStamp& stamp) noexcept {
    unsigned char* p = base + frame_header_size;
    *p++ = static_cast<unsigned char>(stamp.reason);
    *p++ = static_cast<unsigned char>((stamp.possibly_persisted ? flag_possibly_persisted : 0) |
                                      (record.key.empty() ? 0 : flag_has_key));
    put<std::uint16_t>(p, static_cast<std::uint16_t>(record.headers.size()));
    p += 2;
    put<std::int32_t>(p, record.error);
    p += 4;
    put<std::int64_t>(p, stamp.timestamp_ms);
    p += 8;
    put<std::uint64_t>(p, stamp.instance);
    put<std::uint64_t>(p + 8, stamp.record_number);
    p += record_id_size;
    auto put_bytes = [&p](std::string_view bytes) {
        if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
        p += bytes.size();
    };
    put<std::uint16_t>(p, static_cast<std::uint16_t>(record.topic.size()));
    p += 2;
    put_bytes(record.topic);
    put<std::uint32_t>(p, static_cast<std::uint32_t>(record.key.size()));
    p += 4;
    put_bytes(record.key);
    for (const RecordHeader& h : record.headers) {
        put<std::uint16_t>(p, static_cast<std::uint16_t>(h.name.size()));
        p += 2;
        put_bytes(h.name);
        put<std::uint32_t>(p, static_cast<std::uint32_t>(h.value.size()));
        p += 4;
        put_bytes(h.value);
    }
    put<std::uint32_t>(p, static_cast<std::uint32_t>(record.payload.size()));
    p += 4;
    put_bytes(record.payload);
    // The padding is zero already: the segment was reserved zero-filled and only grows.
    put<std::uint32_t>(base + 4, static_cast<std::uint32_t>(body));
    put<std::uint32_t>(base + 8, crc32c_extend(0, base + frame_header_size, body));
    put<std::uint32_t>(base + 12, state_held);
    publish_magic(base, frame_magic);
}

void copy_frame(unsigned char* base, const void* frame, std::size_t size) noexcept {
    const auto* bytes = static_cast<const unsigned char*>(frame);
    std::memcpy(base + 4, bytes + 4, size - 4);
    std::uint32_t magic;
    std::memcpy(&magic, bytes, 4);
    publish_magic(base, magic);
}

}  // namespace kafka_log::detail::spool
