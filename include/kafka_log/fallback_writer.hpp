// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief Where records go when Kafka cannot take them: a file, or any std::ostream.

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <mutex>
#include <string_view>

#include "kafka_log/export.hpp"

namespace kafka_log {

/// \brief Destination of the records Kafka did not take.
///
/// Each record is stored as one line: the record's bytes followed by `\n` (added only when
/// the record does not already end with one).
///
/// Thread safety: every implementation is safe to call from any number of threads at once;
/// a record is never interleaved with another.
class KAFKA_LOG_EXPORT FallbackWriter {
public:
    FallbackWriter() = default;
    FallbackWriter(const FallbackWriter&) = delete;
    FallbackWriter& operator=(const FallbackWriter&) = delete;
    virtual ~FallbackWriter();

    /// \brief Appends one record.
    /// \return false, never an exception, when the record could not be stored.
    virtual bool write(std::string_view record) noexcept = 0;

    /// \brief Makes what was written durable (fsync for files).
    /// \return false when that failed.
    virtual bool flush() noexcept = 0;
};

/// \brief Options of FileFallback; every default is usable as is.
struct FileFallbackOptions {
    /// Rotate when the file would grow past this many bytes; 0 never rotates. On rotation
    /// `path` becomes `path.1`, `path.1` becomes `path.2`, ... up to `max_files`.
    std::uint64_t rotate_bytes = 0;
    /// How many rotated files to keep (`path.1` ... `path.N`); older ones are removed.
    unsigned max_files = 5;
    /// fsync after every record: durable at the cost of one disk sync per record.
    bool sync_every_write = false;
};

/// \brief Appends records to a file opened with `O_APPEND`, created with mode 0600.
///
/// Every record is written with a single `write(2)` of the whole line, so lines from
/// concurrent threads (and from other processes appending to the same file) never
/// interleave. The file is opened in the constructor; after a failed write the next write
/// reopens it once, so a file removed or rotated away by another tool is recreated.
///
/// Thread safety: all members may be called concurrently.
class KAFKA_LOG_EXPORT FileFallback final : public FallbackWriter {
public:
    /// \throws std::system_error naming the path when the file cannot be opened or created.
    explicit FileFallback(std::filesystem::path path, FileFallbackOptions options = {});
    ~FileFallback() override;

    bool write(std::string_view record) noexcept override;
    /// \brief fsyncs the file. Possible failures: the fsync fails (false).
    bool flush() noexcept override;

    /// \brief Closes and reopens the file (after an external rotation, say on SIGHUP).
    /// \return false when it cannot be reopened; writes then fail until a reopen succeeds.
    bool reopen() noexcept;

    /// \brief The path given to the constructor.
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    bool open_locked() noexcept;
    bool rotate_locked() noexcept;
    bool write_all_locked(std::string_view record, bool add_newline) noexcept;

    std::filesystem::path path_;
    FileFallbackOptions options_;
    std::mutex mutex_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

/// \brief Writes records to a std::ostream (std::cerr, a std::ostringstream in tests).
///
/// The stream must outlive the writer. A stream in a failed state makes `write` return
/// false; the state is cleared before the next write so a transient failure does not stick.
///
/// Thread safety: all members may be called concurrently; the writer serializes access to
/// the stream, but nothing else may write to the same stream meanwhile.
class KAFKA_LOG_EXPORT StreamFallback final : public FallbackWriter {
public:
    explicit StreamFallback(std::ostream& stream) noexcept : stream_(stream) {}

    bool write(std::string_view record) noexcept override;
    bool flush() noexcept override;

private:
    std::ostream& stream_;
    std::mutex mutex_;
};

}  // namespace kafka_log
