// SPDX-License-Identifier: Apache-2.0
#pragma once

// The state of a SpoolFallback, shared by the files that implement it: spool_fallback.cpp
// (storing records and journal copies), segment_roll.cpp (making, sealing and reserving
// segments within max_bytes), removal_recovery.cpp (segments removed behind the spool's
// back), spool_thread.cpp (the spool's thread and fork()) and drain_view.cpp (SpoolDrain's
// view of the directory).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../../detail/fork_generation.hpp"
#include "directory_lock.hpp"
#include "fork_guard.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "segment_file.hpp"
#include "settle_queue.hpp"

namespace kafka_log {

namespace detail::spool {

/// One stderr line, not more often than every 10 s per `last`.
void complain(std::chrono::steady_clock::time_point& last, const std::string& line) noexcept;

/// 64 random bits (a writer instance's id).
std::uint64_t random_u64() noexcept;

}  // namespace detail::spool

struct KAFKA_LOG_NO_EXPORT SpoolFallback::Impl final : detail::spool::ForkLockable {
    using SegmentFile = detail::spool::SegmentFile;
    using RecordOwners = detail::spool::RecordOwners;

    Impl(std::filesystem::path directory, SpoolOptions options_in)
        : dir(std::move(directory)), options(options_in), directory_lock(dir) {}
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() = default;

    std::filesystem::path dir;
    SpoolOptions options;
    mutable std::mutex mutex;
    detail::spool::DirectoryLock directory_lock;
    SegmentFile current;
    /// The next segment, reserved and faulted in ahead by the spool's thread under a temporary
    /// name (`.next-<pid>.tmp`, which readers ignore), so that a roll on the logging thread is
    /// a rename. Its bytes count in `stats.bytes_on_disk`.
    SegmentFile prepared;
    bool want_prepared = false;
    std::vector<SegmentFile> sealed;  // this object's earlier segments, fds kept open
    SpoolStats stats;
    std::uint64_t instance_id = detail::spool::random_u64();
    std::uint64_t next_record = 0;
    std::uint64_t generation = detail::fork_generation();
    std::chrono::steady_clock::time_point last_full_line{}, last_error_line{}, last_removed_line{},
        last_journal_line{};

    /// Journal settles wait here and are applied under `mutex` in batches: by the settle that
    /// fills a batch, by the spool's thread within 100 ms, and by every call that reads the
    /// journal's state (stats, flush, the drain's, close). A process killed meanwhile re-sends
    /// up to a batch more, flagged possibly duplicate.
    detail::spool::SettleQueue settles;

    // The spool's thread: checks for removal, syncs by interval.
    std::unique_ptr<std::condition_variable> wake = std::make_unique<std::condition_variable>();
    std::unique_ptr<std::thread> thread;
    bool stopping = false;
    bool thread_running = false;  // set by the thread once it holds the mutex
    /// Set while the thread works without the mutex (reserving a segment, which allocates): a
    /// fork() waits until it is back, so that no child inherits an allocator lock held by a
    /// thread it does not have (a sanitizer's allocator has no fork handler of its own).
    bool thread_outside_lock = false;
    std::condition_variable thread_back;

    // --- spool_fallback.cpp: storing
    /// Stores a fallback record, or with `journal` a journal copy. \return the frame's offset in
    /// the current segment, 0 when it was not stored.
    std::size_t store_locked(const FallbackRecord& record, FallbackLossListener* listener,
                             bool journal) noexcept;
    /// Applies the settles waiting in `settles` (with `mutex` held).
    void apply_settles_locked() noexcept;
    void settle_locked(std::uint64_t token) noexcept;
    /// Deletes the sealed segment `at` (every record in it is on Kafka or settled).
    void delete_sealed_locked(std::vector<SegmentFile>::iterator at) noexcept;

    // --- segment_roll.cpp: segments and space
    /// `refusal_counts`: a refusal is a new record's (refused_*), not a rewrite's (which
    /// counts in lost_after_write only).
    /// `speak`: a refusal prints its stderr line (a journal copy's caller prints its own).
    bool roll_locked(std::size_t frame_size, bool refusal_counts = true,
                     bool speak = true) noexcept;
    void seal_locked() noexcept;
    void prepare_unlocked(std::unique_lock<std::mutex>& lock) noexcept;
    void discard_prepared_locked(bool unlink_file) noexcept;
    std::uint64_t next_sequence_locked() const;
    /// Counts the segment files of the directory in `stats.bytes_on_disk`, and removes segments
    /// prepared ahead by processes that are gone.
    void scan_directory_locked();

    // --- removal_recovery.cpp: removed segments
    void check_locked() noexcept;
    void recover_locked(SegmentFile& removed, bool mapped) noexcept;
    bool append_frame_locked(std::string_view frame, FallbackLossListener* listener,
                             FallbackReason reason) noexcept;
    void report_lost(std::string_view frames, const std::vector<RecordOwners>& owners) noexcept;

    // --- spool_thread.cpp: the spool's thread and fork()
    void start_thread();
    void thread_loop() noexcept;
    void adopt_fork_locked() noexcept;
    void lock_for_fork() noexcept override {
        std::unique_lock lock(mutex);
        thread_back.wait(lock, [this] { return !thread_outside_lock; });
        static_cast<void>(lock.release());  // held until unlock_after_fork
        settles.lock();
    }
    void unlock_after_fork() noexcept override {
        settles.unlock();
        mutex.unlock();
    }
};

}  // namespace kafka_log
