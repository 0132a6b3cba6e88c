// SPDX-License-Identifier: Apache-2.0
// SpoolFallback's public face, and storing: fallback records, journal copies and their settles.
#include "kafka_log/spool_fallback.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <new>
#include <string>
#include <vector>

#include "../detail/spool_format.hpp"
#include "spool/frame_encoder.hpp"
#include "spool/spool_fallback_impl.hpp"

namespace kafka_log {

namespace sp = detail::spool;

namespace detail::spool {

void complain(std::chrono::steady_clock::time_point& last, const std::string& line) noexcept {
    const auto now = std::chrono::steady_clock::now();
    if (last != std::chrono::steady_clock::time_point{} && now - last < std::chrono::seconds(10)) {
        return;
    }
    last = now;
    try {
        const std::string text = "kafka_log: " + line + "\n";
        [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
    } catch (...) {
        // No memory for the line: nothing better to do.
    }
}

std::uint64_t random_u64() noexcept {
    std::uint64_t value = 0;
    if (::getrandom(&value, sizeof value, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof value)) {
        // No entropy yet (early boot): time, pid and an address still make a collision unlikely.
        value = static_cast<std::uint64_t>(
                    std::chrono::steady_clock::now().time_since_epoch().count()) ^
                (static_cast<std::uint64_t>(::getpid()) << 40) ^
                reinterpret_cast<std::uintptr_t>(&value);
    }
    return value;
}

}  // namespace detail::spool

// --- opening and closing ----------------------------------------------------------------

SpoolFallback::SpoolFallback(std::filesystem::path directory, SpoolOptions options)
    : impl_(std::make_unique<Impl>(std::move(directory), options)) {
    Impl& s = *impl_;
    if (s.options.segment_bytes < 4096) s.options.segment_bytes = 4096;
    if (s.options.check_interval.count() <= 0)
        s.options.check_interval = std::chrono::milliseconds(1000);
    if (s.options.sync_interval.count() <= 0)
        s.options.sync_interval = std::chrono::milliseconds(1000);
    s.directory_lock.acquire();
    s.scan_directory_locked();
    // The first segment is reserved (and its pages faulted in) by the spool's thread from the
    // start: an outage's first records pay no more than its later ones, and a disk too full for
    // one segment shows up now rather than at the outage.
    s.want_prepared = true;
    sp::hold_across_fork(impl_.get());
    try {
        s.start_thread();
    } catch (...) {
        sp::release_from_fork(impl_.get());  // the registry must not keep a spool never made
        throw;
    }
    // Return once the thread runs: a fork() right after the constructor then never copies a
    // thread that is still starting (and may hold a lock of a sanitizer's allocator, which has
    // no fork handler) into the child.
    std::unique_lock lock(s.mutex);
    s.wake->wait(lock, [&s] { return s.thread_running; });
}

SpoolFallback::~SpoolFallback() {
    Impl& s = *impl_;
    sp::release_from_fork(impl_.get());
    const bool child = detail::in_forked_child(s.generation);
    {
        std::lock_guard lock(s.mutex);
        s.stopping = true;
        if (child) s.adopt_fork_locked();
        s.apply_settles_locked();
        s.check_locked();
        s.seal_locked();
        s.discard_prepared_locked(true);
        for (Impl::SegmentFile& seg : s.sealed) {
            if (s.options.sync != SpoolSync::never) ::fdatasync(seg.fd);
            ::close(seg.fd);
        }
        s.sealed.clear();
    }
    s.wake->notify_all();
    if (s.thread && s.thread->joinable()) s.thread->join();
    s.directory_lock.release();
}

// --- writing ----------------------------------------------------------------------------

bool SpoolFallback::write(const FallbackRecord& record, FallbackLossListener* listener) noexcept {
    std::lock_guard lock(impl_->mutex);
    return impl_->store_locked(record, listener, false) != 0;
}

std::uint64_t SpoolFallback::journal(const FallbackRecord& record) noexcept {
    std::lock_guard lock(impl_->mutex);
    const std::size_t offset = impl_->store_locked(record, nullptr, true);
    return offset == 0 ? 0 : sp::make_token(impl_->current.sequence, offset);
}

std::size_t SpoolFallback::Impl::store_locked(const FallbackRecord& record,
                                              FallbackLossListener* listener,
                                              bool journal) noexcept {
    if (detail::in_forked_child(generation)) adopt_fork_locked();
    const std::size_t body = sp::frame_body_size(record);
    if (body == 0) {
        // Cannot be framed (a topic name of over 64 KiB, a 4 GiB record).
        ++(journal ? stats.journal_refused : stats.refused_error);
        return 0;
    }
    const std::size_t frame = sp::frame_size(body);
    if (current.map == nullptr || current.used + frame > current.size) {
        if (!roll_locked(frame, !journal, !journal)) {
            if (journal) {
                ++stats.journal_refused;
                sp::complain(last_journal_line,
                             "spool '" + dir.string() +
                                 "': no room for journal copies; records go to Kafka without one "
                                 "(they are not crash-safe until there is room)");
            }
            return 0;
        }
    }
    const std::size_t offset = current.used;
    unsigned char* const base = current.map + current.used;
    // A journal copy is "in flight": read back after its process stopped, it may be on Kafka.
    const sp::FrameStamp stamp{
        .reason = journal ? FallbackReason::in_flight : record.reason,
        .possibly_persisted = journal || record.possibly_persisted,
        .timestamp_ms = record.timestamp_ms != 0 ? record.timestamp_ms : sp::wall_clock_ms(),
        .instance = instance_id,
        .record_number = next_record++};
    sp::encode_frame(base, record, body, stamp);
    if (options.sync == SpoolSync::every_record) {
        const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
        const auto start = reinterpret_cast<std::uintptr_t>(base) & ~(page - 1);
        if (::msync(reinterpret_cast<void*>(start),
                    reinterpret_cast<std::uintptr_t>(base) + frame - start, MS_SYNC) != 0) {
            // In the page cache all the same (it survives the process); only power loss could
            // take it.
        }
    }
    current.used += frame;
    current.unsynced = options.sync != SpoolSync::every_record;
    if (journal) {
        ++current.journal_open;
        ++stats.journaled;
        return offset;
    }
    try {
        sp::add_owners(current.entries, listener, record.reason);
    } catch (...) {
        // No memory for the bookkeeping: the record is stored; a later removal could not be told.
    }
    ++stats.records;
    return offset;
}

// --- journal settles --------------------------------------------------------------------

void SpoolFallback::settle(std::uint64_t token) noexcept {
    if (token == 0) return;
    Impl& s = *impl_;
    if (detail::in_forked_child(s.generation)) return;  // the parent's copy, the parent's to settle
    bool batch_full = false;
    try {
        batch_full = s.settles.push(token);
    } catch (...) {
        // No memory to queue it: settled now, after those queued before it.
        std::lock_guard lock(s.mutex);
        s.apply_settles_locked();
        s.settle_locked(token);
        return;
    }
    if (batch_full) {
        std::lock_guard lock(s.mutex);
        s.apply_settles_locked();
    }
}

void SpoolFallback::Impl::apply_settles_locked() noexcept {
    settles.take([this](std::uint64_t token) { settle_locked(token); });
}

void SpoolFallback::Impl::settle_locked(std::uint64_t token) noexcept {
    if (detail::in_forked_child(generation)) return;
    const std::uint64_t sequence = sp::token_sequence(token);
    const std::size_t offset = sp::token_offset(token);
    const std::uint32_t settled = sp::state_replayed;
    if (current.fd >= 0 && current.sequence == sequence) {
        if (current.journal_open == 0 || offset + sp::frame_header_size > current.used) return;
        std::atomic_ref<std::uint32_t>(
            *reinterpret_cast<std::uint32_t*>(current.map + offset + sp::frame_state_offset))
            .store(settled, std::memory_order_relaxed);
        --current.journal_open;
        ++stats.settled;
        return;
    }
    for (auto it = sealed.begin(); it != sealed.end(); ++it) {
        if (it->sequence != sequence) continue;
        if (it->journal_open == 0 || offset + sp::frame_header_size > it->used) return;
        [[maybe_unused]] const ssize_t n = ::pwrite(
            it->fd, &settled, sizeof settled, static_cast<off_t>(offset + sp::frame_state_offset));
        --it->journal_open;
        ++stats.settled;
        if (it->journal_open == 0 && (it->entries.empty() || it->release_deferred)) {
            delete_sealed_locked(it);
        }
        return;
    }
    // Its segment was removed (its copies were counted settled then) or is unknown.
}

void SpoolFallback::Impl::delete_sealed_locked(std::vector<SegmentFile>::iterator at) noexcept {
    if (::unlink(at->path.c_str()) == 0) {
        stats.bytes_on_disk -= std::min<std::uint64_t>(stats.bytes_on_disk, at->used);
    }
    ::close(at->fd);
    sealed.erase(at);
    if (stats.segments > 0) --stats.segments;
}

// --- flushing and reading the state -----------------------------------------------------

bool SpoolFallback::flush() noexcept {
    // The current segment and every sealed one written since it was last synced: a segment
    // sealed (unmapped) since the last flush holds records only in the page cache too.
    std::vector<int> fds;
    bool ok = true;
    {
        std::lock_guard lock(impl_->mutex);
        if (detail::in_forked_child(impl_->generation)) impl_->adopt_fork_locked();
        impl_->apply_settles_locked();
        try {
            auto take = [&fds](Impl::SegmentFile& seg) {
                // A segment of settled journal copies only has nothing to keep (their records
                // are on Kafka): no sync, whose writeback would also write-protect the pages
                // reserved ahead, and every later copy would fault them in again.
                if (seg.fd < 0 || !seg.unsynced || (seg.entries.empty() && seg.journal_open == 0)) {
                    return;
                }
                fds.reserve(fds.size() + 1);
                const int fd = ::dup(seg.fd);
                if (fd < 0) throw std::bad_alloc();
                fds.push_back(fd);
                seg.unsynced = false;
            };
            for (Impl::SegmentFile& seg : impl_->sealed) take(seg);
            take(impl_->current);
        } catch (...) {
            ok = false;  // out of memory or descriptors: what was taken is synced all the same
        }
    }
    for (const int fd : fds) {
        ok = ::fdatasync(fd) == 0 && ok;
        ::close(fd);
    }
    const int dir_fd = ::open(impl_->dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ok = ::fsync(dir_fd) == 0 && ok;
        ::close(dir_fd);
    }
    return ok;
}

void SpoolFallback::detach(FallbackLossListener& listener) noexcept {
    std::lock_guard lock(impl_->mutex);
    auto forget = [&listener](std::vector<Impl::RecordOwners>& owners) {
        for (Impl::RecordOwners& e : owners) {
            if (e.listener == &listener) e.listener = nullptr;
        }
    };
    forget(impl_->current.entries);
    for (Impl::SegmentFile& s : impl_->sealed) forget(s.entries);
}

const std::filesystem::path& SpoolFallback::directory() const noexcept {
    return impl_->dir;
}

const SpoolOptions& SpoolFallback::options() const noexcept {
    return impl_->options;
}

SpoolStats SpoolFallback::stats() const {
    std::lock_guard lock(impl_->mutex);
    impl_->apply_settles_locked();
    SpoolStats out = impl_->stats;
    const std::uint64_t gone = out.replayed + out.lost_after_write;
    const std::uint64_t had = out.records + out.found;
    out.held = had > gone ? had - gone : 0;
    return out;
}

void SpoolFallback::check_now() noexcept {
    std::lock_guard lock(impl_->mutex);
    impl_->check_locked();
}

}  // namespace kafka_log
