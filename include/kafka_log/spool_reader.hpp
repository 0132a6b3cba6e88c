// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief SpoolReader: a spool directory's records, in write order, with their metadata.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka_log/export.hpp"
#include "kafka_log/fallback_writer.hpp"

namespace kafka_log {

/// \brief A spool that cannot be read: not a directory, an unreadable file, or a segment of a
/// format version this library does not know. `what()` names the file.
class KAFKA_LOG_EXPORT SpoolError : public std::runtime_error {
public:
    SpoolError(std::string message, std::filesystem::path path)
        : std::runtime_error(std::move(message)), path_(std::move(path)) {}
    /// \brief The file or directory the problem is about.
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

/// \brief One record read back from a spool, owning its bytes.
struct SpoolRecord {
    std::string id;  ///< 32 lowercase hex digits, unique across hosts and processes.
    std::string topic;
    std::optional<std::string> key;  ///< Empty optional: the record had no key.
    std::vector<std::pair<std::string, std::string>> headers;
    std::int64_t timestamp_ms = 0;  ///< When it was spooled (or produced), ms since the epoch.
    FallbackReason reason = FallbackReason::delivery_failed;
    /// The record may be on Kafka as well: the producer said so when it failed, or a replay
    /// sent it and was stopped before Kafka answered.
    bool possibly_persisted = false;
    /// A replay sent it and was stopped (or killed) before Kafka answered.
    bool replay_unconfirmed = false;
    int error = 0;  ///< The producer's error code; 0: none.
    std::string payload;
    std::filesystem::path segment;  ///< The segment file it was read from.
    std::uint64_t offset = 0;       ///< Its frame's byte offset in that file.
};

/// \brief What one segment file holds.
struct SpoolSegmentInfo {
    std::filesystem::path path;
    std::uint64_t sequence = 0;
    std::uint32_t pid = 0;  ///< The process that wrote it.
    std::int64_t created_ms = 0;
    std::uint64_t file_bytes = 0;  ///< Its size on disk (reserved space included).
    /// Its writer finished it: nothing more will be appended (known once it was read).
    bool sealed = false;
};

/// \brief Counts of a read so far.
struct SpoolReadStats {
    std::uint64_t segments = 0;  ///< Segment files opened.
    std::uint64_t records = 0;   ///< Whole records returned.
    std::uint64_t corrupt = 0;   ///< Corrupt stretches skipped (each counts one).
    /// Torn tails skipped: a frame without its magic, last in its segment — a copy that a kill
    /// of the writing process cut short. Its `write` never returned, so it was never counted;
    /// not a corruption (`kafka_log_spool verify` still exits 0).
    std::uint64_t torn = 0;
    std::uint64_t record_bytes = 0;  ///< Bytes of the frames returned.
    /// Records a replay already confirmed on Kafka (kept until their segment is deleted):
    /// skipped, not returned.
    std::uint64_t replayed = 0;
};

/// \brief Reads a spool directory written by SpoolFallback: every segment file
/// (`seg-*.kls`), oldest first, and in each the records in the order they were written. Records
/// a replay has confirmed on Kafka are skipped (`stats().replayed`).
///
/// A record whose CRC-32C does not match (a crash in the middle of a copy, a flipped bit) is
/// skipped and counted in `stats().corrupt`; reading goes on with the next whole record of the
/// same segment and with later segments. A copy that never finished (the writing process was
/// killed in the middle of a `write` that therefore never returned, and whose record was never
/// counted) is one such stretch, at the end of that process's last segment. Reading does not
/// change the spool. A writer may be appending meanwhile: the reader sees the records that were
/// whole when it read each segment (a record being copied at that moment may count as one
/// corrupt stretch at the segment's end).
///
/// Thread safety: one reader per thread; any number of readers may read the same spool.
class KAFKA_LOG_EXPORT SpoolReader {
public:
    /// \throws SpoolError naming the directory when it does not exist or cannot be listed.
    explicit SpoolReader(std::filesystem::path directory);
    ~SpoolReader();
    SpoolReader(SpoolReader&&) noexcept;
    SpoolReader& operator=(SpoolReader&&) noexcept;

    /// \brief The next record, or false at the end of the spool.
    /// \throws SpoolError naming the file when a segment cannot be read or has a format
    /// version this library does not know.
    bool next(SpoolRecord& record);

    /// \brief The segment files found when the reader was made, in read order.
    const std::vector<SpoolSegmentInfo>& segments() const noexcept;

    /// \brief Counts of the read so far.
    const SpoolReadStats& stats() const noexcept;

    /// \brief Reads the records of one segment's bytes (a whole file), calling `on_record` for
    /// each whole record in order; torn or corrupt stretches are counted in `stats`.
    /// \throws SpoolError naming `name` when the header has an unknown version.
    static void read_segment(std::string_view bytes, const std::filesystem::path& name,
                             const std::function<void(SpoolRecord&&)>& on_record,
                             SpoolReadStats& stats);

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace kafka_log
