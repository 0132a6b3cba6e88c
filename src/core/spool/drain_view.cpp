// SPDX-License-Identifier: Apache-2.0
// SpoolDrain's view of a SpoolFallback's directory: which segments may be replayed, and the
// deletion of a replayed one, so that the spool never takes a replayed segment for a removed one.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "../../detail/crc32c.hpp"
#include "../../detail/spool_format.hpp"
#include "spool_fallback_impl.hpp"

namespace kafka_log {

namespace sp = detail::spool;

std::vector<SpoolSegmentRef> SpoolFallback::drainable_segments(bool seal_current) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mutex);
    if (detail::in_forked_child(s.generation)) s.adopt_fork_locked();
    s.apply_settles_locked();
    // Sealed only for its fallback records: journal copies are settled by their writer.
    if (seal_current && s.current.map != nullptr && !s.current.entries.empty()) s.seal_locked();
    struct Found {
        std::uint64_t sequence;
        std::uint32_t pid;
        SpoolSegmentRef ref;
    };
    std::vector<Found> found;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(s.dir, ec), end; !ec && it != end;
         it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!sp::is_segment_name(name) || it->path() == s.current.path) continue;
        const auto mine =
            std::find_if(s.sealed.begin(), s.sealed.end(),
                         [&](const Impl::SegmentFile& seg) { return seg.path == it->path(); });
        const bool own = mine != s.sealed.end();
        // One of ours with nothing to replay: journal copies only (settled by this writer), or
        // replayed already and waiting for its copies to settle.
        if (own && (mine->entries.empty() || mine->release_deferred)) continue;
        std::uint32_t pid = 0;
        bool sealed = own;
        if (!own) {
            unsigned char header[sp::segment_header_size] = {};
            const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            const ssize_t n = ::pread(fd, header, sizeof header, 0);
            ::close(fd);
            if (n == static_cast<ssize_t>(sizeof header) &&
                std::memcmp(header, sp::segment_magic.data(), sp::segment_magic.size()) == 0 &&
                sp::get<std::uint32_t>(header + sp::hdr_crc) ==
                    detail::crc32c_extend(0, header, sp::hdr_crc)) {
                pid = sp::get<std::uint32_t>(header + sp::hdr_pid);
                sealed =
                    (sp::get<std::uint32_t>(header + sp::hdr_flags) & sp::hdr_flag_sealed) != 0;
            }
            // An unsealed segment of another live process (a forked child writing it): not yet.
            // One of this process is an earlier spool object's (this one's current is excluded).
            const bool writer_gone = pid == 0 || static_cast<pid_t>(pid) == ::getpid() ||
                                     (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH);
            if (!sealed && !writer_gone) continue;
        }
        found.push_back(Found{sp::parse_sequence(name), pid, SpoolSegmentRef{it->path(), own}});
    }
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
        return a.sequence != b.sequence ? a.sequence < b.sequence : a.ref.path < b.ref.path;
    });
    std::vector<SpoolSegmentRef> out;
    out.reserve(found.size());
    for (Found& f : found) out.push_back(std::move(f.ref));
    return out;
}

void SpoolFallback::release_segment(const std::filesystem::path& segment) noexcept {
    Impl& s = *impl_;
    std::lock_guard lock(s.mutex);
    s.apply_settles_locked();
    struct stat st {};
    const bool exists = ::stat(segment.c_str(), &st) == 0;
    for (auto it = s.sealed.begin(); it != s.sealed.end(); ++it) {
        if (it->path == segment) {
            if (it->journal_open > 0) {
                it->release_deferred = true;  // deleted by the settle of its last journal copy
                return;
            }
            ::close(it->fd);
            s.sealed.erase(it);
            if (s.stats.segments > 0) --s.stats.segments;
            break;
        }
    }
    if (exists && ::unlink(segment.c_str()) == 0) {
        s.stats.bytes_on_disk -=
            std::min<std::uint64_t>(s.stats.bytes_on_disk, static_cast<std::uint64_t>(st.st_size));
    }
}

void SpoolFallback::note_found(std::uint64_t records) noexcept {
    std::lock_guard lock(impl_->mutex);
    impl_->stats.found += records;
}

void SpoolFallback::note_replayed(std::uint64_t records) noexcept {
    std::lock_guard lock(impl_->mutex);
    impl_->stats.replayed += records;
}

}  // namespace kafka_log
