// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief SpoolFallback: the fallback that keeps every record whole, with what a replay needs,
/// in a directory that survives the process being killed.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "kafka_log/export.hpp"
#include "kafka_log/fallback_writer.hpp"
#include "kafka_log/spool_reader.hpp"

namespace kafka_log {

/// \brief When the spool asks the kernel to put records on the disk itself (power loss).
/// A record in the spool survives the process being killed in every mode.
enum class SpoolSync {
    never,         ///< Leave it to the kernel's writeback (typically within 30 s).
    interval,      ///< Every `SpoolOptions::sync_interval`, from the spool's own thread.
    every_record,  ///< Before `write` returns (one msync per record: slow).
};

/// \brief Options of SpoolFallback; every default is usable as is.
struct SpoolOptions {
    /// The most bytes the spool's segment files may take on disk, records of earlier processes
    /// included. Past it, new records are not stored (`write` returns false: the writer counts
    /// them `lost` and prints them to stderr) and a rate-limited stderr line says so.
    std::uint64_t max_bytes = std::uint64_t{1} << 30;
    /// Size of one segment file, reserved with `fallocate` when the segment is made (a record
    /// larger than this gets a segment of its own size).
    std::uint64_t segment_bytes = std::uint64_t{16} << 20;
    SpoolSync sync = SpoolSync::never;
    std::chrono::milliseconds sync_interval{1000};
    /// How often the spool's thread checks that its segment files and directory still exist
    /// (a removed one is written again, or its records reported lost).
    std::chrono::milliseconds check_interval{1000};
    /// Records per second a KafkaWriter's automatic drain sends back to Kafka (at start, for
    /// records an earlier process left, and whenever the cluster is reachable again after an
    /// outage). The default drains a million-record outage in under two minutes while live
    /// records keep their place. 0: no automatic drain (`kafka_log_spool replay` only).
    double replay_rate = 10000;
    /// Crash-safe mode (settings file: `SpoolJournal=true`). A KafkaWriter on this spool copies
    /// every record into it *before* handing it to the producer, and marks the copy settled
    /// once Kafka confirms the record (or once it is stored as a fallback record). After the
    /// process is killed at any moment, every record whose `write` returned is in the spool or
    /// on Kafka; the next writer on the spool (or `kafka_log_spool replay`) sends the unsettled
    /// copies, flagged possibly duplicate (their process may have delivered them): the records
    /// in flight, and up to 63 confirmed ones (settles are applied to the segment in batches of
    /// 64, or within 100 ms of a pause, so that the delivery thread rarely takes the logging
    /// threads' lock). Costs a spool write per record on the logging thread; a segment whose
    /// copies are all settled is deleted.
    bool journal = false;
};

/// \brief Counters of a SpoolFallback (this process's records only).
struct SpoolStats {
    std::uint64_t records = 0;       ///< Records stored by this object.
    std::uint64_t refused_full = 0;  ///< Records refused because the spool was at max_bytes.
    std::uint64_t refused_error =
        0;  ///< Records refused because no segment could be made (or too big to frame).
    std::uint64_t rewritten = 0;  ///< Records written again after their segment was removed.
    std::uint64_t lost_after_write =
        0;  ///< Stored, then gone with a removed segment, not rewritten (not in refused_*).
    std::uint64_t bytes_on_disk = 0;  ///< Segment bytes in the directory, all processes.
    std::uint64_t segments = 0;       ///< Segment files this object wrote and still holds.
    /// Records a drain confirmed on Kafka whose segment it then deleted, or that it marked
    /// replayed in a segment not yet deleted.
    std::uint64_t replayed = 0;
    /// Records of earlier processes (or spool objects) that a drain found in the directory.
    std::uint64_t found = 0;
    /// Records held in the spool now, as far as this object knows: stored + found, less
    /// replayed and lost_after_write.
    std::uint64_t held = 0;
    /// Journal copies stored (`journal`; not in `records`), settled since, and refused (the
    /// spool was full or a segment could not be made: the record went to the producer without a
    /// copy, and a stderr line said so). Copies not yet settled: `journaled - settled`.
    std::uint64_t journaled = 0;
    std::uint64_t settled = 0;
    std::uint64_t journal_refused = 0;
};

/// \brief A segment file that a drain may replay: its writer appends nothing more.
struct SpoolSegmentRef {
    std::filesystem::path path;
    /// Written by this object: its records are already counted in `SpoolStats::held`.
    bool own = false;
};

/// \brief The fallback that is a spool: a directory of append-only segment files in which each
/// record is stored whole — topic, key, headers, timestamp, a record id unique across hosts
/// and processes, the reason, the possibly-persisted flag, the producer's error and the payload
/// bytes unchanged — framed with its length and a CRC-32C (`docs/spool-format.md`).
///
/// A record is copied into a memory-mapped segment whose space was reserved when the segment
/// was made: no system call per record, and a record whose `write` returned survives the
/// process being killed (it is in the page cache; power loss needs `SpoolOptions::sync`). A
/// full disk shows when a segment is reserved (the record is then refused), never as a torn
/// record or SIGBUS.
///
/// What the spool counts, it holds: `write` returns true only once the whole frame is in the
/// segment. When a segment file, or the whole directory, is removed while the spool runs, its
/// thread notices within `check_interval` (and every new segment checks too): the records this
/// object wrote are written again into a new segment of a recreated directory, or, when that
/// fails, printed to stderr and reported to their writer as lost. The library never deletes a
/// record from the spool; SpoolReader and `kafka_log_spool` read it back.
///
/// One spool object per directory: a lock file (`LOCK`, holding the pid) refuses a second one,
/// in this process or another. Files are made 0600, the directory 0700. After `fork()`, a
/// spool in the child writes segments of its own (named with the child's pid).
///
/// Thread safety: all members may be called concurrently; any number of writers may share it.
class KAFKA_LOG_EXPORT SpoolFallback final : public FallbackWriter {
public:
    /// \brief Opens (creating it, with its parents) the spool directory.
    /// \throws SpoolError naming the directory when it cannot be made or locked, and the pid
    /// that holds it when another spool does.
    explicit SpoolFallback(std::filesystem::path directory, SpoolOptions options = {});
    ~SpoolFallback() override;

    using FallbackWriter::write;
    bool write(const FallbackRecord& record,
               FallbackLossListener* listener = nullptr) noexcept override;
    /// \brief Syncs (`fdatasync`) every segment written since the last flush — the current one
    /// and those sealed meanwhile — and fsyncs the directory. \return false when a sync failed.
    bool flush() noexcept override;
    void detach(FallbackLossListener& listener) noexcept override;

    /// \name The journal (`SpoolOptions::journal`; KafkaWriter calls these)
    ///@{
    /// \brief Stores a copy of a record about to be handed to a producer, marked "in flight"
    /// (`FallbackReason::in_flight`; `record.reason` is ignored). Not a fallback record: it is
    /// counted in `journaled`, not `records`.
    /// \return the copy's token for `settle` (and for `MessageView::token`), or 0 when it was
    /// not stored (spool full, no segment: counted in `journal_refused`).
    std::uint64_t journal(const FallbackRecord& record) noexcept;
    /// \brief The record whose copy `token` names is on Kafka, or stored as a fallback record:
    /// marks the copy settled, so no replay sends it (applied with the next batch of 64, within
    /// 100 ms, or by the next stats(), flush() or drain call). A segment whose copies are all
    /// settled and which holds no fallback record is deleted once sealed. Unknown tokens and 0 are
    /// ignored.
    void settle(std::uint64_t token) noexcept;
    ///@}

    /// \brief The spool directory.
    const std::filesystem::path& directory() const noexcept;
    /// \brief The options it was made with (after defaults were applied).
    const SpoolOptions& options() const noexcept;
    /// \brief A snapshot of the counters.
    SpoolStats stats() const;

    /// \brief Checks now what the spool's thread checks every `check_interval`: removed
    /// segments or directory. Tests call it to avoid waiting.
    void check_now() noexcept;

    /// \name For SpoolDrain
    /// The drain's view of the directory. A replay marks records in place and deletes a segment
    /// only through these, so the spool never takes a replayed segment for a removed one.
    ///@{
    /// \brief Segments whose writer appends nothing more, oldest first: this object's sealed
    /// ones, and those of earlier processes (sealed, or whose process is gone). With
    /// `seal_current`, the current segment is sealed first when it holds records (the next
    /// record starts a new one).
    std::vector<SpoolSegmentRef> drainable_segments(bool seal_current);
    /// \brief Every record of `segment` is on Kafka: deletes it (one of this object's with
    /// journal copies not yet settled goes when the last of them is).
    void release_segment(const std::filesystem::path& segment) noexcept;
    /// \brief A drain found `records` records in a segment of an earlier writer.
    void note_found(std::uint64_t records) noexcept;
    /// \brief A drain confirmed `records` records on Kafka.
    void note_replayed(std::uint64_t records) noexcept;
    ///@}

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kafka_log
