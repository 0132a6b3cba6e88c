// SPDX-License-Identifier: Apache-2.0
#pragma once

// The spool's bytes, shared by SpoolFallback (writes) and SpoolReader (reads). Every integer
// is little-endian. docs/spool-format.md describes the same layout for people.

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "kafka_log/spool_reader.hpp"

namespace kafka_log::detail::spool {

static_assert(std::endian::native == std::endian::little,
              "the spool is read and written in place: little-endian hosts only");

inline constexpr std::string_view segment_magic{"KLSPOOL\0", 8};
inline constexpr std::uint16_t format_version = 1;
inline constexpr std::size_t segment_header_size = 64;
inline constexpr std::uint32_t frame_magic = 0x3152'4C4BU;  // "KLR1" as bytes
inline constexpr std::size_t frame_header_size = 16;        // magic, length, crc, state
inline constexpr std::size_t frame_alignment = 8;
inline constexpr std::size_t record_id_size = 16;
/// Bytes of the body before the variable parts: reason, flags, header count, error,
/// timestamp, record id.
inline constexpr std::size_t body_fixed_size = 1 + 1 + 2 + 4 + 8 + record_id_size;

inline constexpr std::uint8_t flag_possibly_persisted = 0x01;
inline constexpr std::uint8_t flag_has_key = 0x02;

/// Frame state word (not covered by the CRC, so a replay marks records in place): 0 held; 1
/// being replayed (sent, no answer yet: it may be on Kafka); 2 replayed (confirmed on Kafka).
inline constexpr std::uint32_t state_held = 0;
inline constexpr std::uint32_t state_replaying = 1;
inline constexpr std::uint32_t state_replayed = 2;
inline constexpr std::size_t frame_state_offset = 12;

/// Segment header flags: bit 0 sealed (the writer will append nothing more; cut to its size).
inline constexpr std::uint32_t hdr_flag_sealed = 0x1;

// Segment header layout (offsets).
inline constexpr std::size_t hdr_magic = 0;      // 8 bytes
inline constexpr std::size_t hdr_version = 8;    // u16
inline constexpr std::size_t hdr_size = 10;      // u16: segment_header_size
inline constexpr std::size_t hdr_flags = 12;     // u32: hdr_flag_*
inline constexpr std::size_t hdr_sequence = 16;  // u64
inline constexpr std::size_t hdr_created = 24;   // i64 ms since the epoch
inline constexpr std::size_t hdr_pid = 32;       // u32
inline constexpr std::size_t hdr_reserved = 36;  // u32: 0
inline constexpr std::size_t hdr_instance = 40;  // u64: random, one per writer instance
inline constexpr std::size_t hdr_crc = 60;       // u32: CRC-32C of bytes 0..59

/// Reads the whole file at `path` into `bytes` (defined in spool_reader.cpp).
/// \return 0, or the errno of the open or read that failed.
int read_whole_file(const std::filesystem::path& path, std::string& bytes);

constexpr std::size_t align_up(std::size_t n) noexcept {
    return (n + frame_alignment - 1) & ~(frame_alignment - 1);
}

template <class T>
inline void put(unsigned char* at, T value) noexcept {
    std::memcpy(at, &value, sizeof value);  // x86-64 and aarch64 Linux: little-endian
}

template <class T>
inline T get(const unsigned char* at) noexcept {
    T value;
    std::memcpy(&value, at, sizeof value);
    return value;
}

/// A frame found at a position of a segment's bytes.
struct Frame {
    std::size_t offset = 0;  // of the frame header
    std::size_t length = 0;  // of the body
    std::size_t total = 0;   // header + body + padding: the next frame's distance
    std::string_view body;
};

/// What `scan` found at a position.
struct ScanResult {
    enum Kind { frame, corrupt, torn, end } kind = end;
    Frame found;           // for `frame`
    std::size_t next = 0;  // where to scan next (`frame`, `corrupt`)
};

inline bool zero_from(std::string_view bytes, std::size_t pos) noexcept {
    for (std::size_t i = pos; i < bytes.size(); ++i) {
        if (bytes[i] != 0) return false;
    }
    return true;
}

/// The whole frame at `pos` (8-aligned), or nothing.
bool frame_at(std::string_view bytes, std::size_t pos, Frame& out) noexcept;

/// Reads at `pos`: a whole frame; the end (only zero bytes left: reserved space); a torn tail
/// (a frame without its magic, the last thing in the segment: a copy a kill cut short, whose
/// write never returned); or a corrupt stretch, with `next` at the next whole frame (or the
/// end of `bytes`).
ScanResult scan(std::string_view bytes, std::size_t pos) noexcept;

/// Decodes a frame's body (its CRC already checked); false when its fields do not fit it.
bool parse_body(std::string_view body, SpoolRecord& out);

/// Segment file names: `seg-<sequence, 12 digits>-<pid>.kls`; ordered by (sequence, pid).
inline constexpr std::string_view segment_prefix = "seg-";
inline constexpr std::string_view segment_suffix = ".kls";
inline constexpr std::string_view lock_file_name = "LOCK";

}  // namespace kafka_log::detail::spool
