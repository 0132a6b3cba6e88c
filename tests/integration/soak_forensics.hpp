// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the soak (soak_test.cpp) prints when records are lost, so that one failure says where
// they went: the lost ranges per life and thread, and what the copies of the spool taken after
// each life hold for them — every frame, replayed ones too (SpoolReader skips those), with its
// state, reason and segment, read as docs/spool-format.md lays them out.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "chaos_support.hpp"

namespace kafka_log::test {

/// A record whose write returned and that is neither on the topic nor in the spool.
struct LostRecord {
    std::size_t life = 0;
    std::size_t thread = 0;
    std::uint64_t seq = 0;
};

/// Prints the lost records as ranges of consecutive seqs, per life and thread.
inline void print_lost_ranges(std::ostream& out, const std::vector<LostRecord>& lost) {
    std::size_t i = 0;
    std::size_t ranges = 0;
    while (i < lost.size()) {
        std::size_t j = i;
        while (j + 1 < lost.size() && lost[j + 1].life == lost[i].life &&
               lost[j + 1].thread == lost[i].thread && lost[j + 1].seq == lost[j].seq + 1) {
            ++j;
        }
        if (++ranges <= 40) {
            out << "    lost range: life " << lost[i].life << " thread " << lost[i].thread
                << " seq " << lost[i].seq << ".." << lost[j].seq << " (" << (j - i + 1)
                << " records)\n";
        }
        i = j + 1;
    }
    if (ranges > 40) out << "    ... " << ranges << " lost ranges in all\n";
}

/// One frame of a segment file, whatever its state.
struct SpoolFrame {
    std::string segment;  // the file's name
    std::uint64_t offset = 0;
    std::uint32_t state = 0;  // 0 held, 1 being replayed, 2 replayed
    int reason = 0;           // 7: a journal copy (in_flight)
    bool possibly_persisted = false;
    std::string replayed_header;  // `kafka_log.replayed`'s value, or empty
    std::string payload;
};

/// What a segment file's header says.
struct SegmentHead {
    std::string name;
    std::uint64_t bytes = 0;
    std::uint32_t pid = 0;
    bool sealed = false;
};

namespace forensics_detail {

template <class T>
T get(const std::string& b, std::size_t at) {
    T v{};
    if (at + sizeof v <= b.size()) std::memcpy(&v, b.data() + at, sizeof v);
    return v;
}

/// Parses a frame body (docs/spool-format.md); false when its fields do not fit.
inline bool parse_body(const std::string& b, std::size_t at, std::size_t end, SpoolFrame& f) {
    auto take_string = [&](std::size_t length_bytes, std::string* into) {
        if (at + length_bytes > end) return false;
        const std::size_t n =
            length_bytes == 2 ? get<std::uint16_t>(b, at) : get<std::uint32_t>(b, at);
        at += length_bytes;
        if (at + n > end) return false;
        if (into != nullptr) into->assign(b, at, n);
        at += n;
        return true;
    };
    if (at + 32 > end) return false;
    f.reason = static_cast<unsigned char>(b[at]);
    f.possibly_persisted = (static_cast<unsigned char>(b[at + 1]) & 1u) != 0;
    const std::uint16_t headers = get<std::uint16_t>(b, at + 2);
    at += 32;  // reason, flags, header count, error, timestamp, record id
    if (!take_string(2, nullptr) || !take_string(4, nullptr)) return false;
    for (std::uint16_t h = 0; h < headers; ++h) {
        std::string name, value;
        if (!take_string(2, &name) || !take_string(4, &value)) return false;
        if (name == "kafka_log.replayed") f.replayed_header = value;
    }
    return take_string(4, &f.payload);
}

}  // namespace forensics_detail

/// Every frame of every segment file of `dir` (a copy of a spool), and the segments' headers.
inline std::vector<SpoolFrame> spool_frames(const std::filesystem::path& dir,
                                            std::vector<SegmentHead>& heads) {
    using forensics_detail::get;
    std::vector<SpoolFrame> out;
    std::vector<std::string> names;
    for (const auto& name : names_in(dir)) {
        if (is_segment(name)) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        const std::string b = read_text(dir / name);
        if (b.size() < 64) continue;
        heads.push_back(SegmentHead{name, b.size(), get<std::uint32_t>(b, 32),
                                    (get<std::uint32_t>(b, 12) & 1u) != 0});
        for (std::size_t at = 64; at + 16 <= b.size();) {
            const std::uint32_t length = get<std::uint32_t>(b, at + 4);
            if (std::memcmp(b.data() + at, "KLR1", 4) != 0 || at + 16 + length > b.size()) {
                at += 8;
                continue;
            }
            SpoolFrame f;
            f.segment = name;
            f.offset = at;
            f.state = get<std::uint32_t>(b, at + 12);
            if (forensics_detail::parse_body(b, at + 16, at + 16 + length, f)) {
                out.push_back(std::move(f));
            }
            at += (16 + length + 7) / 8 * 8;
        }
    }
    return out;
}

/// Prints what the spool copy `dir` holds for the `lost` records (payloads from `payload_of`):
/// its segments, then the frames of lost records counted by (state, reason, flag, segment), with
/// a few examples.
template <class PayloadOf>
void print_lost_in_copy(std::ostream& out, const std::filesystem::path& dir,
                        const std::vector<LostRecord>& lost, PayloadOf&& payload_of) {
    std::vector<SegmentHead> heads;
    const std::vector<SpoolFrame> frames = spool_frames(dir, heads);
    out << "    spool copy " << dir.string() << ": " << heads.size() << " segments, "
        << frames.size() << " frames\n";
    for (const SegmentHead& h : heads) {
        out << "      " << h.name << " " << h.bytes << " bytes, pid " << h.pid
            << (h.sealed ? ", sealed" : ", not sealed") << "\n";
    }
    std::map<std::string, const LostRecord*> wanted;
    for (const LostRecord& r : lost) wanted[payload_of(r)] = &r;
    std::map<std::tuple<std::uint32_t, int, bool, std::string, std::string>, std::uint64_t> tally;
    std::map<std::string, std::uint64_t> found;
    int examples = 0;
    for (const SpoolFrame& f : frames) {
        const auto it = wanted.find(f.payload);
        if (it == wanted.end()) continue;
        ++found[f.payload];
        ++tally[{f.state, f.reason, f.possibly_persisted, f.replayed_header, f.segment}];
        if (++examples <= 6) {
            out << "      frame of '" << f.payload.substr(0, 40) << "': " << f.segment << " @"
                << f.offset << " state " << f.state << " reason " << f.reason
                << (f.possibly_persisted ? " possibly-persisted" : "") << "\n";
        }
    }
    for (const auto& [key, n] : tally) {
        const auto& [state, reason, flag, header, segment] = key;
        out << "      " << n << " frames: state " << state << " ("
            << (state == 0   ? "held"
                : state == 1 ? "replaying"
                             : "replayed")
            << "), reason " << reason << (reason == 7 ? " (journal copy)" : "")
            << (flag ? ", possibly persisted" : "")
            << (header.empty() ? "" : ", replayed header " + header) << ", " << segment << "\n";
    }
    out << "      lost records with a frame in this copy: " << found.size() << " of "
        << wanted.size() << "\n";
}

}  // namespace kafka_log::test
