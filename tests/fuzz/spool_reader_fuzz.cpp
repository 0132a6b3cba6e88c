// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: whatever bytes a segment file holds, SpoolReader::read_segment returns only
// records whose frame really is in those bytes (re-derived here independently of the reader),
// in order and without overlap, with a well-formed id; it throws nothing but SpoolError naming
// the file, and reading the same bytes twice gives the same result.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "kafka_log/spool_reader.hpp"

namespace {

#define CHECK(condition)                    \
    do {                                    \
        if (!(condition)) __builtin_trap(); \
    } while (false)

std::uint32_t u32_at(std::string_view bytes, std::size_t pos) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = v << 8 | static_cast<unsigned char>(bytes[pos + static_cast<std::size_t>(i)]);
    return v;
}

constexpr std::size_t segment_header = 64;
constexpr std::size_t frame_header = 16;
constexpr std::size_t body_fixed = 32;  // reason, flags, header count, error, timestamp, id

/// The frame body length the record's fields take, as docs/spool-format.md lays them out.
std::size_t body_length(const kafka_log::SpoolRecord& r) {
    std::size_t n = body_fixed + 2 + r.topic.size() + 4 + (r.key ? r.key->size() : 0);
    for (const auto& [name, value] : r.headers) n += 2 + name.size() + 4 + value.size();
    return n + 4 + r.payload.size();
}

bool same(const kafka_log::SpoolRecord& a, const kafka_log::SpoolRecord& b) {
    return a.id == b.id && a.topic == b.topic && a.key == b.key && a.headers == b.headers &&
           a.timestamp_ms == b.timestamp_ms && a.reason == b.reason &&
           a.possibly_persisted == b.possibly_persisted && a.error == b.error &&
           a.payload == b.payload && a.segment == b.segment && a.offset == b.offset;
}

struct Read {
    std::vector<kafka_log::SpoolRecord> records;
    kafka_log::SpoolReadStats stats;
    bool threw = false;
};

Read read(std::string_view bytes, const std::filesystem::path& name) {
    Read result;
    try {
        kafka_log::SpoolReader::read_segment(
            bytes, name,
            [&](kafka_log::SpoolRecord&& r) { result.records.push_back(std::move(r)); },
            result.stats);
    } catch (const kafka_log::SpoolError& e) {
        CHECK(e.path() == name);
        CHECK(std::string_view(e.what()).find(name.string()) != std::string_view::npos);
        CHECK(bytes.size() >= 8 && bytes.substr(0, 8) == std::string_view("KLSPOOL\0", 8));
        result.threw = true;
    }
    return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const std::filesystem::path name = "seg-000000000001-1.kls";
    const Read first = read(bytes, name);

    CHECK(first.stats.segments == 1);
    CHECK(first.stats.records == first.records.size());
    if (!first.threw && first.records.empty() && first.stats.corrupt == 0 &&
        first.stats.torn == 0 && first.stats.replayed == 0) {
        // Nothing read, nothing wrong, nothing torn, nothing already replayed: a valid (or
        // all-zero) header and zeros after it.
        for (std::size_t i = segment_header; i < size; ++i) CHECK(bytes[i] == 0);
    }

    std::size_t frame_bytes = 0;
    std::size_t next_free = segment_header;  // frames neither overlap nor precede the header
    for (const auto& r : first.records) {
        CHECK(r.id.size() == 32);
        CHECK(r.id.find_first_not_of("0123456789abcdef") == std::string::npos);
        CHECK(r.segment == name);
        CHECK(r.offset % 8 == 0);
        CHECK(r.offset >= next_free);
        const std::size_t length = body_length(r);
        CHECK(r.offset + frame_header + length <= size);
        CHECK(u32_at(bytes, r.offset) == 0x31524C4BU);  // "KLR1"
        CHECK(u32_at(bytes, r.offset + 4) == length);
        const std::size_t body = r.offset + frame_header;
        CHECK(bytes.substr(body + body_fixed + 2, r.topic.size()) == r.topic);
        CHECK(bytes.substr(body + length - r.payload.size(), r.payload.size()) == r.payload);
        // A frame a replay marked as on its way is returned flagged; one marked as on Kafka is not
        // returned.
        const std::uint32_t state = u32_at(bytes, r.offset + 12);
        CHECK(state != 2);
        CHECK(r.replay_unconfirmed == (state == 1));
        if (r.replay_unconfirmed) CHECK(r.possibly_persisted);
        const std::size_t total = std::min((frame_header + length + 7) / 8 * 8, size - r.offset);
        frame_bytes += total;
        next_free = r.offset + total;
    }
    CHECK(first.stats.record_bytes == frame_bytes);

    const Read second = read(bytes, name);  // reading does not depend on anything but the bytes
    CHECK(second.threw == first.threw);
    CHECK(second.records.size() == first.records.size());
    CHECK(second.stats.corrupt == first.stats.corrupt);
    CHECK(second.stats.replayed == first.stats.replayed);
    for (std::size_t i = 0; i < first.records.size(); ++i)
        CHECK(same(first.records[i], second.records[i]));
    return 0;
}
