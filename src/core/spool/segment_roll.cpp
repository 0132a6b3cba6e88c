// SPDX-License-Identifier: Apache-2.0
// SpoolFallback's segments: making the next one (within SpoolOptions::max_bytes), sealing the
// current one, reserving one ahead on the spool's thread, and counting the bytes on disk.
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <string>
#include <system_error>

#include "../../detail/spool_format.hpp"
#include "spool_fallback_impl.hpp"

namespace kafka_log {

namespace sp = detail::spool;

void SpoolFallback::Impl::scan_directory_locked() {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (const pid_t pid = sp::prepared_pid(name); pid != 0) {
            // A segment prepared ahead by a process that is gone (or an earlier spool of this
            // one): it never held a record. A forked child of an earlier writer may still use
            // its own.
            if (pid == ::getpid() || ::kill(pid, 0) != 0) ::unlink(it->path().c_str());
            continue;
        }
        if (!sp::is_segment_name(name)) continue;
        std::error_code size_ec;
        const auto size = std::filesystem::file_size(it->path(), size_ec);
        if (!size_ec) stats.bytes_on_disk += size;
    }
}

std::uint64_t SpoolFallback::Impl::next_sequence_locked() const {
    std::uint64_t highest = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (sp::is_segment_name(name)) highest = std::max(highest, sp::parse_sequence(name));
    }
    for (const SegmentFile& s : sealed) {
        highest = std::max(highest, sp::parse_sequence(s.path.filename().string()));
    }
    if (current.fd >= 0) {
        highest = std::max(highest, sp::parse_sequence(current.path.filename().string()));
    }
    return highest + 1;
}

bool SpoolFallback::Impl::roll_locked(std::size_t frame_size, bool refusal_counts,
                                      bool speak) noexcept {
    const std::size_t size = std::max<std::size_t>(
        options.segment_bytes, sp::align_up(sp::segment_header_size + frame_size));
    // What the directory would hold once the current segment is sealed (cut to its used bytes).
    const std::uint64_t unused = current.map != nullptr ? current.size - current.used : 0;
    std::uint64_t after_seal =
        stats.bytes_on_disk - std::min<std::uint64_t>(stats.bytes_on_disk, unused);
    if (prepared.map != nullptr && prepared.size >= size) {
        after_seal -=
            std::min<std::uint64_t>(after_seal, prepared.size);  // it becomes the new segment
    }
    if (after_seal + size > options.max_bytes) {
        // Refused without sealing: smaller records that still fit go on into the current segment.
        if (refusal_counts) ++stats.refused_full;
        if (speak) {
            sp::complain(
                last_full_line,
                "spool '" + dir.string() + "' is full (SpoolOptions::max_bytes " +
                    std::to_string(options.max_bytes) +
                    " bytes): new records are lost (printed to stderr) until it is replayed");
        }
        return false;
    }
    seal_locked();
    try {
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec)) directory_lock.acquire();
        const std::uint64_t sequence = next_sequence_locked();
        const std::filesystem::path path = dir / sp::segment_file_name(sequence, ::getpid());
        SegmentFile seg;
        struct stat st {};
        if (prepared.map != nullptr && prepared.size >= size && ::fstat(prepared.fd, &st) == 0 &&
            st.st_nlink > 0 && ::rename(prepared.path.c_str(), path.c_str()) == 0) {
            seg = std::move(prepared);
            prepared = SegmentFile{};
            seg.path = path;
            // Counted again below.
            stats.bytes_on_disk -= std::min<std::uint64_t>(stats.bytes_on_disk, seg.size);
        } else {
            seg = sp::make_reserved_file(path, size);
        }
        sp::write_segment_header(seg, sequence, instance_id);
        stats.bytes_on_disk += seg.size;
        ++stats.segments;
        current = std::move(seg);
        want_prepared = true;  // the spool's thread reserves the next one meanwhile
        if (wake) wake->notify_all();
        return true;
    } catch (const std::exception& e) {
        if (refusal_counts) ++stats.refused_error;
        if (speak) {
            sp::complain(last_error_line,
                         "spool '" + dir.string() + "': cannot make a new segment (" + e.what() +
                             "): records are lost (printed to stderr) until it can");
        }
        return false;
    }
}

void SpoolFallback::Impl::seal_locked() noexcept {
    if (current.map == nullptr) return;
    // Mark it sealed (a drain may take a sealed segment of a process that still runs).
    sp::mark_header_sealed(current.map);
    ::munmap(current.map, current.size);
    current.map = nullptr;
    // Give back the reserved space the segment did not use.
    if (::ftruncate(current.fd, static_cast<off_t>(current.used)) == 0) {
        stats.bytes_on_disk -=
            std::min<std::uint64_t>(stats.bytes_on_disk, current.size - current.used);
    }
    if (options.sync != SpoolSync::never && ::fdatasync(current.fd) == 0) current.unsynced = false;
    try {
        sealed.push_back(std::move(current));
        // Journal copies only, all settled: nothing in it for anyone.
        if (sealed.back().journal_open == 0 && sealed.back().entries.empty() &&
            sealed.back().used > sp::segment_header_size) {
            delete_sealed_locked(sealed.end() - 1);
        }
    } catch (...) {
        ::close(current.fd);  // no memory to remember it: it stays on disk, unwatched
        --stats.segments;
    }
    current = SegmentFile{};
}

void SpoolFallback::Impl::discard_prepared_locked(bool unlink_file) noexcept {
    if (prepared.fd < 0) return;
    if (unlink_file) ::unlink(prepared.path.c_str());
    stats.bytes_on_disk -= std::min<std::uint64_t>(stats.bytes_on_disk, prepared.size);
    sp::close_segment(prepared);
}

void SpoolFallback::Impl::prepare_unlocked(std::unique_lock<std::mutex>& lock) noexcept {
    // Called by the spool's thread with `lock` held; reserves without it (fallocate and the
    // page faults of 16 MiB take milliseconds), so that writers go on meanwhile.
    want_prepared = false;
    const std::size_t size = static_cast<std::size_t>(options.segment_bytes);
    if (prepared.map != nullptr || stats.bytes_on_disk + size > options.max_bytes) return;
    const std::uint64_t generation_then = generation;
    SegmentFile seg;
    try {
        const std::filesystem::path path = dir / sp::prepared_file_name(::getpid());
        thread_outside_lock = true;
        lock.unlock();
        try {
            ::unlink(path.c_str());  // one left by a failed earlier attempt
            seg = sp::make_reserved_file(path, size);
            sp::fault_in_from_user_space(seg);
        } catch (...) {
            // Not reserved ahead (disk full, no directory): the next roll tries on the logging
            // thread and reports what fails there.
        }
        lock.lock();
        thread_outside_lock = false;
        thread_back.notify_all();
    } catch (...) {
        return;  // no memory for the name; `lock` is still held
    }
    if (seg.fd < 0) return;
    // Meanwhile a roll may have made a segment inline: the reservation must still fit.
    if (stopping || generation != generation_then || prepared.fd >= 0 ||
        stats.bytes_on_disk + size > options.max_bytes) {
        ::unlink(seg.path.c_str());
        sp::close_segment(seg);
        return;
    }
    prepared = std::move(seg);
    stats.bytes_on_disk += prepared.size;
}

}  // namespace kafka_log
