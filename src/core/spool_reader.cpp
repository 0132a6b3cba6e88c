// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/spool_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <system_error>

#include "../detail/crc32c.hpp"
#include "../detail/spool_format.hpp"

namespace kafka_log {

namespace sp = detail::spool;

// --- the format ---------------------------------------------------------------------------

namespace detail::spool {

bool frame_at(std::string_view bytes, std::size_t pos, Frame& out) noexcept {
    if (pos % frame_alignment != 0 || pos > bytes.size() || bytes.size() - pos < frame_header_size)
        return false;
    const auto* at = reinterpret_cast<const unsigned char*>(bytes.data()) + pos;
    if (get<std::uint32_t>(at) != frame_magic) return false;
    const std::size_t length = get<std::uint32_t>(at + 4);
    if (length < body_fixed_size || length > bytes.size() - pos - frame_header_size) return false;
    if (crc32c_extend(0, at + frame_header_size, length) != get<std::uint32_t>(at + 8))
        return false;
    out.offset = pos;
    out.length = length;
    out.total = std::min(align_up(frame_header_size + length), bytes.size() - pos);
    out.body = bytes.substr(pos + frame_header_size, length);
    return true;
}

ScanResult scan(std::string_view bytes, std::size_t pos) noexcept {
    ScanResult result;
    if (pos >= bytes.size() || zero_from(bytes, pos)) {
        result.kind = ScanResult::end;
        return result;
    }
    if (frame_at(bytes, pos, result.found)) {
        result.kind = ScanResult::frame;
        result.next = pos + result.found.total;
        return result;
    }
    // A torn or corrupt stretch: find the next whole frame (a candidate's CRC must hold, so
    // bytes that only look like a frame inside a payload are not taken for one).
    result.kind = ScanResult::corrupt;
    Frame ignored;
    for (std::size_t next = pos + frame_alignment; next < bytes.size(); next += frame_alignment) {
        if (frame_at(bytes, next, ignored)) {
            result.next = next;
            return result;
        }
    }
    result.next = bytes.size();
    // The magic is stored last: a frame without it and nothing whole after it is a copy that a
    // kill cut short. Its write never returned, so no writer counted it.
    if (bytes.size() - pos >= sizeof(std::uint32_t) &&
        get<std::uint32_t>(reinterpret_cast<const unsigned char*>(bytes.data()) + pos) == 0) {
        result.kind = ScanResult::torn;
    }
    return result;
}

bool parse_body(std::string_view body, SpoolRecord& out) {
    const auto* p = reinterpret_cast<const unsigned char*>(body.data());
    std::size_t left = body.size();
    if (left < body_fixed_size) return false;
    const std::uint8_t reason = p[0];
    const std::uint8_t flags = p[1];
    const std::uint16_t header_count = get<std::uint16_t>(p + 2);
    out.error = get<std::int32_t>(p + 4);
    out.timestamp_ms = get<std::int64_t>(p + 8);
    static constexpr char hex[] = "0123456789abcdef";
    out.id.resize(2 * record_id_size);
    for (std::size_t i = 0; i < record_id_size; ++i) {
        // The id is two little-endian u64 (instance, sequence); print each most significant first.
        const std::size_t half = i / 8, byte = 7 - i % 8;
        const unsigned char b = p[16 + half * 8 + byte];
        out.id[2 * i] = hex[b >> 4];
        out.id[2 * i + 1] = hex[b & 0xF];
    }
    out.reason = static_cast<FallbackReason>(reason);
    out.possibly_persisted = (flags & flag_possibly_persisted) != 0;
    p += body_fixed_size;
    left -= body_fixed_size;
    auto take = [&](std::size_t n, std::string& into) {
        if (left < n) return false;
        into.assign(reinterpret_cast<const char*>(p), n);
        p += n;
        left -= n;
        return true;
    };
    auto take_u16 = [&](std::size_t& n) {
        if (left < 2) return false;
        n = get<std::uint16_t>(p);
        p += 2;
        left -= 2;
        return true;
    };
    auto take_u32 = [&](std::size_t& n) {
        if (left < 4) return false;
        n = get<std::uint32_t>(p);
        p += 4;
        left -= 4;
        return true;
    };
    std::size_t n = 0;
    if (!take_u16(n) || !take(n, out.topic)) return false;
    std::string key;
    if (!take_u32(n) || !take(n, key)) return false;
    if ((flags & flag_has_key) != 0) {
        out.key = std::move(key);
    } else {
        if (!key.empty()) return false;
        out.key.reset();
    }
    out.headers.clear();
    for (std::uint16_t i = 0; i < header_count; ++i) {
        std::string name, value;
        if (!take_u16(n) || !take(n, name) || !take_u32(n) || !take(n, value)) return false;
        out.headers.emplace_back(std::move(name), std::move(value));
    }
    if (!take_u32(n) || !take(n, out.payload)) return false;
    return left == 0;
}

}  // namespace detail::spool

// --- one segment --------------------------------------------------------------------------

void SpoolReader::read_segment(std::string_view bytes, const std::filesystem::path& name,
                               const std::function<void(SpoolRecord&&)>& on_record,
                               SpoolReadStats& stats) {
    ++stats.segments;
    if (bytes.size() < sp::segment_header_size) {
        if (!sp::zero_from(bytes, 0)) ++stats.corrupt;  // a header cut short
        return;
    }
    const auto* h = reinterpret_cast<const unsigned char*>(bytes.data());
    if (sp::zero_from(bytes.substr(0, sp::segment_header_size), 0)) {
        // Made, never written (the process died between reserving and writing the header):
        // nothing to read, unless records follow, which the scan below still finds.
    } else if (bytes.substr(0, sp::segment_magic.size()) == sp::segment_magic &&
               sp::get<std::uint32_t>(h + sp::hdr_crc) ==
                   detail::crc32c_extend(0, h, sp::hdr_crc)) {
        const std::uint16_t version = sp::get<std::uint16_t>(h + sp::hdr_version);
        if (version != sp::format_version) {
            throw SpoolError("kafka_log::SpoolReader: '" + name.string() +
                                 "' has spool format version " + std::to_string(version) +
                                 "; this library reads version " +
                                 std::to_string(sp::format_version),
                             name);
        }
    } else if (sp::zero_from(bytes, sp::segment_header_size)) {
        ++stats.torn;  // a header a kill cut short, before any record: nothing was counted here
    } else {
        ++stats.corrupt;  // a damaged header: its records may still be whole
    }
    std::size_t pos = sp::segment_header_size;
    while (true) {
        const sp::ScanResult r = sp::scan(bytes, pos);
        if (r.kind == sp::ScanResult::end) break;
        pos = r.next;
        if (r.kind == sp::ScanResult::corrupt) {
            ++stats.corrupt;
            continue;
        }
        if (r.kind == sp::ScanResult::torn) {
            ++stats.torn;
            continue;
        }
        const std::uint32_t state =
            sp::get<std::uint32_t>(reinterpret_cast<const unsigned char*>(bytes.data()) +
                                   r.found.offset + sp::frame_state_offset);
        if (state == sp::state_replayed) {
            ++stats.replayed;  // on Kafka already; its segment goes once all of it is
            continue;
        }
        SpoolRecord record;
        if (!sp::parse_body(r.found.body, record)) {
            ++stats.corrupt;  // its CRC holds but its fields do not fit: written by something else
            continue;
        }
        if (state == sp::state_replaying) {
            record.replay_unconfirmed = true;
            record.possibly_persisted = true;
        }
        record.segment = name;
        record.offset = r.found.offset;
        ++stats.records;
        stats.record_bytes += r.found.total;
        on_record(std::move(record));
    }
}

// --- a directory --------------------------------------------------------------------------

struct SpoolReader::State {
    std::filesystem::path directory;
    std::vector<SpoolSegmentInfo> segments;
    std::size_t next_segment = 0;
    std::deque<SpoolRecord> pending;  // the records of the segment being read
    SpoolReadStats stats;
};

namespace {

bool parse_segment_name(const std::string& name, std::uint64_t& sequence, std::uint32_t& pid) {
    if (name.size() <= sp::segment_prefix.size() + sp::segment_suffix.size() ||
        name.rfind(sp::segment_prefix, 0) != 0 ||
        name.compare(name.size() - sp::segment_suffix.size(), sp::segment_suffix.size(),
                     sp::segment_suffix) != 0) {
        return false;
    }
    const char* p = name.data() + sp::segment_prefix.size();
    const char* end = name.data() + name.size() - sp::segment_suffix.size();
    auto r = std::from_chars(p, end, sequence);
    if (r.ec != std::errc{} || r.ptr == end || *r.ptr != '-') return false;
    r = std::from_chars(r.ptr + 1, end, pid);
    return r.ec == std::errc{} && r.ptr == end;
}

std::string read_file(const std::filesystem::path& path) {
    std::string bytes;
    if (const int error = sp::read_whole_file(path, bytes); error != 0) {
        throw SpoolError("kafka_log::SpoolReader: cannot read '" + path.string() +
                             "': " + std::system_category().message(error),
                         path);
    }
    return bytes;
}

}  // namespace

int detail::spool::read_whole_file(const std::filesystem::path& path, std::string& bytes) {
    bytes.clear();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    int error = 0;
    while (done < bytes.size()) {
        const ssize_t n =
            ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) error = errno;
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    bytes.resize(done);
    return error;
}

SpoolReader::SpoolReader(std::filesystem::path directory) : state_(std::make_unique<State>()) {
    state_->directory = std::move(directory);
    std::error_code ec;
    if (!std::filesystem::is_directory(state_->directory, ec)) {
        throw SpoolError("kafka_log::SpoolReader: '" + state_->directory.string() +
                             "' is not a spool directory" +
                             (ec ? ": " + ec.message() : std::string()),
                         state_->directory);
    }
    std::filesystem::directory_iterator it(state_->directory, ec);
    if (ec) {
        throw SpoolError("kafka_log::SpoolReader: cannot list '" + state_->directory.string() +
                             "': " + ec.message(),
                         state_->directory);
    }
    for (std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
        if (ec) break;
        SpoolSegmentInfo info;
        if (!parse_segment_name(it->path().filename().string(), info.sequence, info.pid)) continue;
        info.path = it->path();
        std::error_code size_ec;
        info.file_bytes = std::filesystem::file_size(info.path, size_ec);
        state_->segments.push_back(std::move(info));
    }
    std::sort(state_->segments.begin(), state_->segments.end(), [](const auto& a, const auto& b) {
        return a.sequence != b.sequence ? a.sequence < b.sequence : a.pid < b.pid;
    });
}

SpoolReader::~SpoolReader() = default;
SpoolReader::SpoolReader(SpoolReader&&) noexcept = default;
SpoolReader& SpoolReader::operator=(SpoolReader&&) noexcept = default;

bool SpoolReader::next(SpoolRecord& record) {
    State& s = *state_;
    while (s.pending.empty()) {
        if (s.next_segment == s.segments.size()) return false;
        SpoolSegmentInfo& info = s.segments[s.next_segment++];
        std::string bytes;
        try {
            bytes = read_file(info.path);
        } catch (const SpoolError&) {
            std::error_code ec;
            if (!std::filesystem::exists(info.path, ec))
                continue;  // replayed and deleted meanwhile
            throw;
        }
        if (bytes.size() >= sp::segment_header_size &&
            bytes.substr(0, sp::segment_magic.size()) == sp::segment_magic) {
            const auto* h = reinterpret_cast<const unsigned char*>(bytes.data());
            info.created_ms = sp::get<std::int64_t>(h + sp::hdr_created);
            info.sealed = (sp::get<std::uint32_t>(h + sp::hdr_flags) & sp::hdr_flag_sealed) != 0;
        }
        read_segment(
            bytes, info.path, [&s](SpoolRecord&& r) { s.pending.push_back(std::move(r)); },
            s.stats);
    }
    record = std::move(s.pending.front());
    s.pending.pop_front();
    return true;
}

const std::vector<SpoolSegmentInfo>& SpoolReader::segments() const noexcept {
    return state_->segments;
}

const SpoolReadStats& SpoolReader::stats() const noexcept {
    return state_->stats;
}

}  // namespace kafka_log
