// SPDX-License-Identifier: Apache-2.0
// SpoolFallback and the segments removed behind its back: noticing, writing their records
// again into a new segment, or reporting them lost to their writers.
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <string>

#include "../../detail/lost_line.hpp"
#include "../../detail/spool_format.hpp"
#include "frame_encoder.hpp"
#include "spool_fallback_impl.hpp"

namespace kafka_log {

namespace sp = detail::spool;

void SpoolFallback::Impl::check_locked() noexcept {
    if (detail::in_forked_child(generation)) adopt_fork_locked();
    struct stat st {};
    if (directory_lock.removed()) {
        // The directory (or its lock file) was removed: make it again, and lock it again.
        try {
            directory_lock.acquire();
        } catch (const std::exception& e) {
            sp::complain(last_error_line, std::string(e.what()));
        }
    }
    if (prepared.fd >= 0 && ::fstat(prepared.fd, &st) == 0 && st.st_nlink == 0) {
        discard_prepared_locked(false);  // it held no record
        want_prepared = true;
    }
    if (current.fd >= 0 && ::fstat(current.fd, &st) == 0 && st.st_nlink == 0) {
        SegmentFile removed = std::move(current);
        current = SegmentFile{};
        stats.bytes_on_disk -= std::min<std::uint64_t>(stats.bytes_on_disk, removed.size);
        --stats.segments;
        recover_locked(removed, true);
    }
    for (std::size_t i = 0; i < sealed.size();) {
        if (::fstat(sealed[i].fd, &st) == 0 && st.st_nlink == 0) {
            SegmentFile removed = std::move(sealed[i]);
            sealed.erase(sealed.begin() + static_cast<std::ptrdiff_t>(i));
            stats.bytes_on_disk -= std::min<std::uint64_t>(stats.bytes_on_disk, removed.used);
            --stats.segments;
            recover_locked(removed, false);
        } else {
            ++i;
        }
    }
}

void SpoolFallback::Impl::recover_locked(SegmentFile& removed, bool mapped) noexcept {
    // The segment's records are still at hand: in the mapping, or through the open descriptor
    // of the unlinked file. Write them again, frame by frame, into the current segment.
    std::string copy;
    std::string_view bytes;
    if (mapped) {
        bytes = std::string_view(reinterpret_cast<const char*>(removed.map), removed.used);
    } else {
        try {
            copy.resize(removed.used);
            std::size_t done = 0;
            while (done < copy.size()) {
                const ssize_t n = ::pread(removed.fd, copy.data() + done, copy.size() - done,
                                          static_cast<off_t>(done));
                if (n <= 0) break;
                done += static_cast<std::size_t>(n);
            }
            copy.resize(done);
        } catch (...) {
            copy.clear();
        }
        bytes = copy;
    }
    try {
        sp::complain(last_removed_line,
                     "spool segment '" + removed.path.string() +
                         "' was removed while in use: its records are written again into '" +
                         dir.string() + "'" +
                         (removed.journal_open > 0
                              ? "; " + std::to_string(removed.journal_open) +
                                    " journal copies went with it (their records are with the "
                                    "producer, not crash-safe until it confirms them)"
                              : std::string()));
    } catch (...) {
        // No memory for the line.
    }
    stats.settled += removed.journal_open;  // no copy is left to settle
    removed.journal_open = 0;
    std::size_t entry = 0;
    std::uint64_t used_of_entry = 0;
    std::uint64_t records = 0;
    for (const RecordOwners& e : removed.entries) records += e.count;
    std::size_t pos = sp::segment_header_size;
    std::uint64_t seen = 0;
    while (seen < records) {
        const sp::ScanResult r = sp::scan(bytes, pos);
        if (r.kind == sp::ScanResult::end) break;
        pos = r.next;
        if (r.kind != sp::ScanResult::frame) continue;
        if (!r.found.body.empty() && static_cast<unsigned char>(r.found.body[0]) ==
                                         static_cast<unsigned char>(FallbackReason::in_flight)) {
            continue;  // a journal copy: its record is with the producer, not a fallback record
        }
        while (entry < removed.entries.size() && used_of_entry == removed.entries[entry].count) {
            ++entry;
            used_of_entry = 0;
        }
        if (entry == removed.entries.size()) break;
        const RecordOwners& owner = removed.entries[entry];
        ++used_of_entry;
        ++seen;
        const std::string_view frame = bytes.substr(r.found.offset, r.found.total);
        if (append_frame_locked(frame, owner.listener, owner.reason)) {
            ++stats.rewritten;
        } else {
            report_lost(frame, {RecordOwners{owner.listener, owner.reason, 1}});
        }
    }
    if (seen < records) {
        // Frames that could not be read back (the descriptor failed): tell their writers.
        std::vector<RecordOwners> rest;
        std::uint64_t skip = seen;
        try {
            for (const RecordOwners& e : removed.entries) {
                const std::uint64_t take = std::min(skip, e.count);
                skip -= take;
                if (e.count > take)
                    rest.push_back(RecordOwners{e.listener, e.reason, e.count - take});
            }
        } catch (...) {
            // No memory for the list: those already in it are told.
        }
        report_lost({}, rest);
    }
    sp::close_segment(removed);
}

bool SpoolFallback::Impl::append_frame_locked(std::string_view frame,
                                              FallbackLossListener* listener,
                                              FallbackReason reason) noexcept {
    if (current.map == nullptr || current.used + frame.size() > current.size) {
        if (!roll_locked(frame.size(), false)) return false;
    }
    sp::copy_frame(current.map + current.used, frame.data(), frame.size());
    current.used += frame.size();
    current.unsynced = true;
    try {
        sp::add_owners(current.entries, listener, reason);
    } catch (...) {
        // No memory for the bookkeeping: the record is stored; a later removal could not be told.
    }
    return true;
}

void SpoolFallback::Impl::report_lost(std::string_view frames,
                                      const std::vector<RecordOwners>& owners) noexcept {
    std::uint64_t lost = 0;
    for (const RecordOwners& e : owners) lost += e.count;
    stats.lost_after_write += lost;
    // Print what is at hand of them; the rest is named by count.
    std::size_t pos = 0;
    std::uint64_t printed = 0;
    sp::Frame f;
    while (pos < frames.size() && sp::frame_at(frames, pos, f)) {
        try {
            SpoolRecord r;
            if (sp::parse_body(f.body, r)) {
                detail::write_lost_line(r.payload);
                ++printed;
            }
        } catch (...) {
            // No memory to decode it: counted below.
        }
        pos += f.total;
    }
    if (lost > printed) {
        try {
            const std::string line = "kafka_log[lost]: " + std::to_string(lost - printed) +
                                     " records of spool '" + dir.string() +
                                     "' were removed and could not be read back\n";
            [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
        } catch (...) {
            // No memory for the line: the listeners are told all the same.
        }
    }
    for (const RecordOwners& e : owners) {
        if (e.listener != nullptr) e.listener->on_fallback_loss(e.reason, e.count);
    }
}

}  // namespace kafka_log
