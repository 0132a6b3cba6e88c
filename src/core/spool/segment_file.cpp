// SPDX-License-Identifier: Apache-2.0
#include "segment_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "../../detail/crc32c.hpp"
#include "../../detail/spool_format.hpp"

namespace kafka_log::detail::spool {

namespace {

constexpr std::string_view prepared_prefix = ".next-";
constexpr std::string_view prepared_suffix = ".tmp";

}  // namespace

void add_owners(std::vector<RecordOwners>& owners, FallbackLossListener* listener,
                FallbackReason reason, std::uint64_t count) {
    if (!owners.empty() && owners.back().listener == listener && owners.back().reason == reason) {
        owners.back().count += count;
    } else {
        owners.push_back(RecordOwners{listener, reason, count});
    }
}

SegmentFile make_reserved_file(const std::filesystem::path& path, std::size_t size) {
    SegmentFile seg;
    seg.path = path;
    seg.fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (seg.fd < 0) throw std::system_error(errno, std::system_category(), "open");
    if (const int error = ::posix_fallocate(seg.fd, 0, static_cast<off_t>(size)); error != 0) {
        ::close(seg.fd);
        ::unlink(path.c_str());
        throw std::system_error(error, std::system_category(),
                                "fallocate " + std::to_string(size) + " bytes");
    }
    void* map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, seg.fd, 0);
    if (map == MAP_FAILED) {
        const int error = errno;
        ::close(seg.fd);
        ::unlink(path.c_str());
        throw std::system_error(error, std::system_category(), "mmap");
    }
    // Fault the pages in writable here, once per segment (one system call), rather than one
    // write fault per 4 KiB page as records arrive: that fault is most of a record's cost.
    // Kernels before 5.14 refuse the advice; the pages are then faulted in as they are used.
#ifdef MADV_POPULATE_WRITE
    static_cast<void>(::madvise(map, size, MADV_POPULATE_WRITE));
#endif
    seg.map = static_cast<unsigned char*>(map);
    seg.size = size;
    return seg;
}

void fault_in_from_user_space(const SegmentFile& seg) noexcept {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    for (std::size_t at = 0; at < seg.size; at += page) {
        *static_cast<volatile unsigned char*>(seg.map + at) = 0;
    }
}

void write_segment_header(SegmentFile& seg, std::uint64_t sequence,
                          std::uint64_t instance) noexcept {
    unsigned char* const map = seg.map;
    std::memcpy(map + hdr_magic, segment_magic.data(), segment_magic.size());
    put<std::uint16_t>(map + hdr_version, format_version);
    put<std::uint16_t>(map + hdr_size, static_cast<std::uint16_t>(segment_header_size));
    put<std::uint64_t>(map + hdr_sequence, sequence);
    put<std::int64_t>(map + hdr_created, wall_clock_ms());
    put<std::uint32_t>(map + hdr_pid, static_cast<std::uint32_t>(::getpid()));
    put<std::uint64_t>(map + hdr_instance, instance);
    put<std::uint32_t>(map + hdr_crc, crc32c_extend(0, map, hdr_crc));
    seg.used = segment_header_size;
    seg.sequence = sequence;
}

void mark_header_sealed(unsigned char* map) noexcept {
    put<std::uint32_t>(map + hdr_flags, get<std::uint32_t>(map + hdr_flags) | hdr_flag_sealed);
    put<std::uint32_t>(map + hdr_crc, crc32c_extend(0, map, hdr_crc));
}

void close_segment(SegmentFile& seg) noexcept {
    if (seg.map != nullptr) ::munmap(seg.map, seg.size);
    if (seg.fd >= 0) ::close(seg.fd);
    seg = SegmentFile{};
}

std::string segment_file_name(std::uint64_t sequence, pid_t pid) {
    char name[64];
    std::snprintf(name, sizeof name, "seg-%012llu-%d.kls",
                  static_cast<unsigned long long>(sequence), static_cast<int>(pid));
    return name;
}

bool is_segment_name(const std::string& name) noexcept {
    return name.size() > segment_prefix.size() + segment_suffix.size() &&
           name.rfind(segment_prefix, 0) == 0 &&
           name.compare(name.size() - segment_suffix.size(), segment_suffix.size(),
                        segment_suffix) == 0;
}

std::uint64_t parse_sequence(const std::string& name) noexcept {
    // seg-<sequence>-<pid>.kls
    if (name.rfind(segment_prefix, 0) != 0) return 0;
    std::uint64_t sequence = 0;
    const char* begin = name.data() + segment_prefix.size();
    std::from_chars(begin, name.data() + name.size(), sequence);
    return sequence;
}

std::string prepared_file_name(pid_t pid) {
    return std::string(prepared_prefix) + std::to_string(pid) + std::string(prepared_suffix);
}

pid_t prepared_pid(const std::string& name) noexcept {
    if (name.size() <= prepared_prefix.size() + prepared_suffix.size() ||
        name.rfind(prepared_prefix, 0) != 0 ||
        name.compare(name.size() - prepared_suffix.size(), prepared_suffix.size(),
                     prepared_suffix) != 0) {
        return 0;
    }
    int pid = 0;
    const char* begin = name.data() + prepared_prefix.size();
    const char* end = name.data() + name.size() - prepared_suffix.size();
    const auto [ptr, ec] = std::from_chars(begin, end, pid);
    return ec == std::errc{} && ptr == end ? static_cast<pid_t>(pid) : 0;
}

}  // namespace kafka_log::detail::spool
