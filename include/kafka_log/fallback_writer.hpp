// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief Where records go when Kafka cannot take them: the boundary every fallback implements,
/// and two text fallbacks (a file, any std::ostream). The default fallback is the spool
/// (`kafka_log/spool_fallback.hpp`).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kafka_log/async_producer.hpp"  // RecordHeader
#include "kafka_log/export.hpp"

namespace kafka_log {

/// \brief Why a record went to the fallback instead of Kafka. The values are stored in the
/// spool (`docs/spool-format.md`): never renumber them.
enum class FallbackReason : std::uint8_t {
    queue_full = 1,       ///< The producer's bounded queue was full.
    too_large = 2,        ///< The record exceeds the producer's size limit.
    delivery_failed = 3,  ///< Accepted by the producer, then failed (timed out, rejected, ...).
    closed = 4,           ///< Written after (or purged by) close, or in a forked child.
    unreachable = 5,      ///< The breaker was open: the cluster was unreachable.
    reentrant = 6,        ///< Logged from inside a producer callback.
    /// A journal copy (`SpoolOptions::journal`): handed to the producer and not yet confirmed
    /// when the process that wrote it stopped. Never a KafkaWriter bucket.
    in_flight = 7,
};

/// \brief The name of a reason ("queue_full", "too_large", ...); "unknown" for other values.
KAFKA_LOG_EXPORT std::string_view to_string(FallbackReason reason) noexcept;

/// \brief A record handed to a fallback, with what a later replay needs: non-owning views,
/// valid only during the call.
struct FallbackRecord {
    std::string_view topic{};
    std::string_view key{};  ///< Empty: the record has no key.
    std::span<const RecordHeader> headers{};
    std::string_view payload{};
    FallbackReason reason = FallbackReason::delivery_failed;
    /// The producer said the record may be on Kafka as well (a replay may duplicate it).
    bool possibly_persisted = false;
    /// The producer's error code (librdkafka's `rd_kafka_resp_err_t`, `error_codes`); 0: none.
    int error = 0;
    /// Milliseconds since the Unix epoch; 0: the fallback stamps the time it stores the record.
    std::int64_t timestamp_ms = 0;
};

/// \brief Told of records a fallback stored (its `write` returned true) and later found it
/// could not keep: a buffer that could not reach its file, a file or spool segment removed
/// behind its back. KafkaWriter moves them from their fallback bucket to `lost`.
///
/// Called on any thread (the one writing, or a fallback's own); must not throw or block long.
class KAFKA_LOG_EXPORT FallbackLossListener {
public:
    /// \brief `records` records stored with `reason` are gone; each was printed to stderr
    /// (`kafka_log[lost]: ` lines) when its bytes were still at hand.
    virtual void on_fallback_loss(FallbackReason reason, std::uint64_t records) noexcept = 0;

protected:
    ~FallbackLossListener() = default;
};

/// \brief Destination of the records Kafka did not take.
///
/// Thread safety: every implementation is safe to call from any number of threads at once, and
/// may serve any number of KafkaWriters; a record is never interleaved with another.
class KAFKA_LOG_EXPORT FallbackWriter {
public:
    FallbackWriter() = default;
    FallbackWriter(const FallbackWriter&) = delete;
    FallbackWriter& operator=(const FallbackWriter&) = delete;
    virtual ~FallbackWriter();

    /// \brief Stores one record.
    /// \param listener told if the record is lost after this returned true (may be null).
    /// \return true when the record is held whole; false (never an exception) when it is not
    /// held at all — never a part of it. A record is held, at the least, as durably as a
    /// `write(2)` (it survives the process being killed) unless the implementation documents a
    /// buffer, and then a loss of a buffered record reaches `listener`.
    virtual bool write(const FallbackRecord& record,
                       FallbackLossListener* listener = nullptr) noexcept = 0;

    /// \brief Stores a payload alone (no topic, no key, reason `delivery_failed`).
    bool write(std::string_view payload) noexcept {
        return write(FallbackRecord{.payload = payload});
    }

    /// \brief Makes what was written durable (fsync for files).
    /// \return false when that failed.
    virtual bool flush() noexcept = 0;

    /// \brief Called by a listener about to be destroyed: the fallback settles (writes or
    /// reports) whatever it holds on the listener's behalf and never calls it again. The
    /// default does nothing (a fallback that never reports losses late).
    virtual void detach(FallbackLossListener& listener) noexcept { static_cast<void>(listener); }
};

/// \brief Options of FileFallback; every default is usable as is.
struct FileFallbackOptions {
    /// Rotate when the file would grow past this many bytes; 0 never rotates. On rotation
    /// `path` becomes `path.1`, `path.1` becomes `path.2`, ... up to `max_files`. Rotation never
    /// deletes or overwrites a file: while `path.<max_files>` exists, the fallback does not
    /// rotate and keeps appending to `path` (which then grows past `rotate_bytes`), with one
    /// stderr line (`kafka_log: <path>: not rotating, ...`); once that file is moved away (by
    /// whoever archives or replays it), the next rotation proceeds.
    std::uint64_t rotate_bytes = 0;
    /// How many rotated files to keep (`path.1` ... `path.N`).
    unsigned max_files = 5;
    /// fsync after every record: durable at the cost of one disk sync per record. A failed
    /// sync is reported on stderr; the record, already in the file, still counts as stored.
    bool sync_every_write = false;
    /// 0 (the default): each record is in the file before `write` returns, and a failure is
    /// that record's (`write` returns false). N > 0: records are gathered in a buffer of about
    /// N bytes, written with one `write(2)` when it fills, at `flush()`, within
    /// `buffer_max_age` of the first buffered record (a timer, even when no record follows),
    /// and on destruction. If the buffer later cannot reach the file, its records go to stderr
    /// (`kafka_log[lost]: ` lines) and their listener moves them to `lost`. When a buffer
    /// reaches the file only in part (disk full), the whole records that made it stay there and
    /// the partial one is cut back: a record is either in the file or reported lost, never both.
    std::size_t buffer_bytes = 0;
    /// The oldest a buffered record gets before the buffer is written.
    std::chrono::milliseconds buffer_max_age{200};
};

/// \brief Appends records as text lines to a file opened with `O_APPEND`, created with mode
/// 0600: the payload followed by `\n` (added only when it does not end with one). Topic, key,
/// Kafka headers and reason are not kept (headers made from log attributes are in the JSON
/// payload as well), and a payload holding `\n` reads back as several lines: for a fallback
/// that a replay can trust, headers included, use SpoolFallback.
///
/// Every record is written with a single `write(2)` of the whole line, so lines from
/// concurrent threads (and other processes appending to the same file) never interleave. A
/// write that stores part of a line (disk full) is cut back (`ftruncate`) to where the line
/// started, so no fragment is left for a later record to join; the record is then not stored.
/// Should the cut fail (an append-only file), or the file end in a partial line when opened,
/// the next record starts with a `\n` so it never joins a fragment.
///
/// The file is checked before each write: when it was removed (`fstat` finds no link left,
/// checked on every write) it is created again at `path`, with a stderr line, since the records
/// written to it before are gone and the file fallback cannot tell whose they were (see
/// SpoolFallback for a fallback that can). When it was renamed (checked at most every 10 ms),
/// a new file is created at `path`; the records are where the other tool moved them.
///
/// Any number of writers may share one FileFallback, buffered or not: a buffered record's loss
/// reaches the listener passed with it.
///
/// Thread safety: all members may be called concurrently. With `buffer_bytes > 0` a timer
/// thread writes buffers that reached `buffer_max_age`; it also calls listeners.
class KAFKA_LOG_EXPORT FileFallback final : public FallbackWriter {
public:
    /// \throws std::system_error naming the path when the file cannot be opened or created.
    explicit FileFallback(std::filesystem::path path, FileFallbackOptions options = {});
    ~FileFallback() override;

    using FallbackWriter::write;
    bool write(const FallbackRecord& record,
               FallbackLossListener* listener = nullptr) noexcept override;
    /// \brief Writes the buffer (if any) and fsyncs the file. Possible failures: the buffer
    /// cannot be written, or the fsync fails (false).
    bool flush() noexcept override;
    void detach(FallbackLossListener& listener) noexcept override;

    /// \brief Closes and reopens the file (after an external rotation, say on SIGHUP).
    /// \return false when it cannot be reopened; writes then fail until a reopen succeeds.
    bool reopen() noexcept;

    /// \brief The path given to the constructor.
    const std::filesystem::path& path() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// \brief Writes record payloads as lines to a std::ostream (std::cerr, a std::ostringstream
/// in tests); topic, key and headers are not kept.
///
/// The stream must outlive the writer. A stream in a failed state makes `write` return
/// false; the state is cleared before the next write so a transient failure does not stick.
///
/// Thread safety: all members may be called concurrently; the writer serializes access to
/// the stream, but nothing else may write to the same stream meanwhile.
class KAFKA_LOG_EXPORT StreamFallback final : public FallbackWriter {
public:
    explicit StreamFallback(std::ostream& stream) noexcept : stream_(stream) {}

    using FallbackWriter::write;
    bool write(const FallbackRecord& record,
               FallbackLossListener* listener = nullptr) noexcept override;
    bool flush() noexcept override;

private:
    std::ostream& stream_;
    std::mutex mutex_;
};

}  // namespace kafka_log
