// SPDX-License-Identifier: Apache-2.0
#pragma once

// SegmentFile: one spool segment on disk (reserved, mapped, named), and whose records it holds.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "kafka_log/fallback_writer.hpp"

namespace kafka_log::detail::spool {

/// Records of one segment, in write order: whose (listener) and why (reason).
struct RecordOwners {
    FallbackLossListener* listener;
    FallbackReason reason;
    std::uint64_t count;
};

/// Appends `count` records of `listener` and `reason` (merged with the last run when they match).
/// \throws std::bad_alloc
void add_owners(std::vector<RecordOwners>& owners, FallbackLossListener* listener,
                FallbackReason reason, std::uint64_t count = 1);

/// A segment file this spool object writes or wrote.
struct SegmentFile {
    std::filesystem::path path;
    int fd = -1;
    unsigned char* map = nullptr;       // the current segment only
    std::size_t size = 0;               // mapped (reserved) bytes
    std::size_t used = 0;               // header + frames
    bool unsynced = false;              // frames written since its last fdatasync
    std::vector<RecordOwners> entries;  // its fallback records (journal copies are not entries)
    std::uint64_t sequence = 0;         // from its name; journal tokens name it
    std::uint64_t journal_open = 0;     // journal copies in it not settled yet
    bool release_deferred = false;  // a drain replayed its records; it goes once its copies settle
};

/// Milliseconds since the Unix epoch.
inline std::int64_t wall_clock_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Makes `path` (which must not exist) with `size` bytes reserved, mapped and faulted in
/// writable. \throws std::system_error naming the step that failed; nothing is left behind then.
SegmentFile make_reserved_file(const std::filesystem::path& path, std::size_t size);

/// Stores a zero into every page of a fresh (all-zero, not yet shared) segment. The kernel's
/// populate does not always spare the first user-space store into a page its fault: on some
/// virtual machines that fault costs microseconds, once per 4 KiB, and was most of a spooled
/// record's cost. The spool's thread pays it here, before the segment is used.
void fault_in_from_user_space(const SegmentFile& seg) noexcept;

/// Writes the segment header of a new segment (sequence, time, pid, instance, CRC) and sets
/// `used` past it.
void write_segment_header(SegmentFile& seg, std::uint64_t sequence,
                          std::uint64_t instance) noexcept;

/// Sets the header's sealed flag (a drain may take a sealed segment of a process that still
/// runs) and its CRC again.
void mark_header_sealed(unsigned char* map) noexcept;

/// Unmaps (if mapped) and closes; `seg` is then empty.
void close_segment(SegmentFile& seg) noexcept;

/// \name Names in the spool directory
///@{
/// `seg-<sequence, 12 digits>-<pid>.kls`
std::string segment_file_name(std::uint64_t sequence, pid_t pid);
bool is_segment_name(const std::string& name) noexcept;
/// The sequence in a segment's name (0 when it is not one).
std::uint64_t parse_sequence(const std::string& name) noexcept;
/// `.next-<pid>.tmp`: a segment reserved ahead, which readers ignore.
std::string prepared_file_name(pid_t pid);
/// The pid in a prepared segment's name, or 0 when `name` is not one.
pid_t prepared_pid(const std::string& name) noexcept;
///@}

/// A journal token: the segment's sequence and the frame's offset (in 8-byte units). Below
/// 2^62, as MessageView::token requires, for any sequence below 2^30.
constexpr std::uint64_t make_token(std::uint64_t sequence, std::size_t offset) noexcept {
    return sequence << 32 | (static_cast<std::uint64_t>(offset) >> 3);
}
constexpr std::uint64_t token_sequence(std::uint64_t token) noexcept {
    return token >> 32;
}
constexpr std::size_t token_offset(std::uint64_t token) noexcept {
    return static_cast<std::size_t>(token & 0xFFFF'FFFFU) << 3;
}

}  // namespace kafka_log::detail::spool
