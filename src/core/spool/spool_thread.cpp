// SPDX-License-Identifier: Apache-2.0
// SpoolFallback's thread (removal checks, interval syncs, settle batches, segments reserved
// ahead) and what a spool does when it finds itself in a forked child.
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "spool_fallback_impl.hpp"

namespace kafka_log {

namespace sp = detail::spool;

void SpoolFallback::Impl::start_thread() {
    thread = std::make_unique<std::thread>([this] { thread_loop(); });
}

void SpoolFallback::Impl::thread_loop() noexcept {
    ::pthread_setname_np(::pthread_self(), "kafka_log:spool");  // as top and perf show it
    using clock = std::chrono::steady_clock;
    auto next_check = clock::now() + options.check_interval;
    auto next_sync = clock::now() + options.sync_interval;
    std::unique_lock lock(mutex);
    std::condition_variable& cv = *wake;
    thread_running = true;
    cv.notify_all();
    while (!stopping) {
        auto until =
            options.sync == SpoolSync::interval ? std::min(next_check, next_sync) : next_check;
        // The settles of the last records before a pause wait for no later batch.
        if (options.journal) until = std::min(until, clock::now() + std::chrono::milliseconds(100));
        cv.wait_until(lock, until, [this] { return stopping || want_prepared; });
        if (stopping) break;
        apply_settles_locked();
        if (want_prepared) prepare_unlocked(lock);
        if (stopping) break;
        const auto now = clock::now();
        if (now >= next_check) {
            check_locked();
            next_check = now + options.check_interval;
        }
        if (options.sync == SpoolSync::interval && now >= next_sync && current.fd >= 0) {
            const int fd = ::dup(current.fd);
            lock.unlock();
            if (fd >= 0) {
                ::fdatasync(fd);  // also writes the pages dirtied through the mapping
                ::close(fd);
            }
            lock.lock();
            next_sync = now + options.sync_interval;
        }
    }
}

void SpoolFallback::Impl::adopt_fork_locked() noexcept {
    // In a forked child: the mapping and the records in it are the parent's (it goes on writing
    // them), and so are the thread and its condition variable, which must not be joined or
    // destroyed here. Leave them, and start segments of our own.
    if (thread) static_cast<void>(thread.release());
    static_cast<void>(wake.release());
    settles.clear();  // the parent's copies, the parent's to settle
    try {
        wake = std::make_unique<std::condition_variable>();
    } catch (...) {
    }
    sp::close_segment(current);
    discard_prepared_locked(false);  // the parent's, under the parent's pid
    want_prepared = false;
    for (SegmentFile& s : sealed) ::close(s.fd);
    sealed.clear();
    // The counters are this process's: the parent's records stay the parent's.
    stats.segments = 0;
    stats.records = 0;
    stats.refused_full = 0;
    stats.refused_error = 0;
    stats.rewritten = 0;
    stats.lost_after_write = 0;
    stats.replayed = 0;
    stats.found = 0;
    instance_id = sp::random_u64();
    next_record = 0;
    generation = detail::fork_generation();
    if (!stopping && wake) {
        try {
            start_thread();
        } catch (...) {
            // No thread: removal is still noticed when a segment is made.
        }
    }
}

}  // namespace kafka_log
