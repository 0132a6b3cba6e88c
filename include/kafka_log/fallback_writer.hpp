// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief Where records go when Kafka cannot take them: a file, or any std::ostream.

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
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

    /// \brief Records that a writer stored and later failed to keep (a buffered write that
    /// could not reach the file): `records` of those written with `tag`.
    using DeferredLossHandler = std::function<void(unsigned tag, std::uint64_t records)>;
    /// \brief The tag of records written with write() (no tag).
    static constexpr unsigned untagged = 15;

    /// \brief Appends one record, with a tag (below 16) the writer will name if the record
    /// is lost after this returned true. The default forgets the tag and calls write().
    virtual bool write_tagged(std::string_view record, unsigned tag) noexcept {
        static_cast<void>(tag);
        return write(record);
    }

    /// \brief Installs the handler told of deferred losses. A writer that stores each record
    /// before write() returns never calls it (the default ignores the handler).
    virtual void set_deferred_loss_handler(DeferredLossHandler handler) { static_cast<void>(handler); }
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
    /// 0 (the default): each record is in the file before `write` returns, and a failure is
    /// that record's (`write` returns false). N > 0: records are gathered in a buffer of
    /// about N bytes, written with one `write(2)` when it fills, at `flush()`, when a record
    /// finds the buffer older than `buffer_max_age`, and on destruction. `write` then returns
    /// true once the record is in the buffer; if the buffer later cannot reach the file, its
    /// records go to stderr (`kafka_log[lost]: ` lines) and the deferred loss handler names
    /// them, so KafkaWriter moves them from their fallback counter to `lost`. The same
    /// durability as Boost.Log's text file sink without `auto_flush`, at a fraction of the
    /// cost per record when the cluster is down. A buffered FileFallback serves one KafkaWriter
    /// at a time; a second writer's constructor throws std::logic_error.
    std::size_t buffer_bytes = 0;
    /// The oldest a buffered record gets before the next write (or flush) writes the buffer.
    std::chrono::milliseconds buffer_max_age{200};
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
    bool write_tagged(std::string_view record, unsigned tag) noexcept override;
    /// \brief Writes the buffer (if any) and fsyncs the file. Possible failures: the buffer
    /// cannot be written, or the fsync fails (false).
    bool flush() noexcept override;
    /// \throws std::logic_error naming the path when the file is buffered and a handler is
    /// already installed: a buffered FileFallback serves one KafkaWriter at a time (its
    /// deferred losses are told to that writer). Written through, any number may share it.
    void set_deferred_loss_handler(DeferredLossHandler handler) override;

    /// \brief Closes and reopens the file (after an external rotation, say on SIGHUP).
    /// \return false when it cannot be reopened; writes then fail until a reopen succeeds.
    bool reopen() noexcept;

    /// \brief The path given to the constructor.
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    bool open_locked() noexcept;
    bool rotate_locked() noexcept;
    bool write_all_locked(std::string_view record, bool add_newline) noexcept;
    bool write_through_locked(std::string_view record, bool add_newline) noexcept;
    bool buffer_locked(std::string_view record, bool add_newline, unsigned tag) noexcept;
    bool flush_buffer_locked() noexcept;

    std::filesystem::path path_;
    FileFallbackOptions options_;
    std::mutex mutex_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    // Buffered mode: the lines not yet written, and how many records of each tag they hold.
    std::string buffer_;
    std::array<std::uint64_t, 16> buffered_tags_{};
    std::chrono::steady_clock::time_point buffer_since_{};
    DeferredLossHandler loss_handler_;
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
