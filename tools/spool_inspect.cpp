// SPDX-License-Identifier: Apache-2.0
// kafka_log_spool ls, cat and verify: read-only views of a spool directory.
#include "spool_inspect.hpp"

#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <system_error>

namespace kafka_log::spool_tool {

namespace {

/// Records per reason, printed as `queue_full=1 delivery_failed=2` in the reasons' order.
struct ReasonCounts {
    std::map<unsigned, std::uint64_t> by_value;

    void add(FallbackReason reason) { ++by_value[static_cast<unsigned>(reason)]; }

    std::string text() const {
        std::string out;
        for (const auto& [value, count] : by_value) {
            if (!out.empty()) out += ' ';
            const auto name = kafka_log::to_string(static_cast<FallbackReason>(value));
            out.append(name);
            if (name == "unknown") out += '(' + std::to_string(value) + ')';
            out += '=' + std::to_string(count);
        }
        return out.empty() ? "-" : out;
    }
};

std::string read_whole_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw SpoolError(
            std::string(program) + ": cannot open '" + path.string() + "': " + std::strerror(errno),
            path);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        throw SpoolError(std::string(program) + ": cannot read '" + path.string() + "'", path);
    return bytes;
}

}  // namespace

int run_ls(const fs::path& dir, Output& out) {
    const SpoolReader reader(dir);
    SpoolReadStats total;
    ReasonCounts total_reasons;
    std::uint64_t total_bytes = 0;
    std::optional<std::int64_t> oldest, newest;
    for (const auto& segment : reader.segments()) {
        std::string bytes;
        std::error_code ec;
        try {
            bytes = read_whole_file(segment.path);
        } catch (const SpoolError&) {
            if (!fs::exists(segment.path, ec)) continue;  // replayed and deleted meanwhile
            throw;
        }
        SpoolReadStats stats;
        ReasonCounts reasons;
        SpoolReader::read_segment(
            bytes, segment.path,
            [&](SpoolRecord&& record) {
                reasons.add(record.reason);
                total_reasons.add(record.reason);
                if (!oldest || record.timestamp_ms < *oldest) oldest = record.timestamp_ms;
                if (!newest || record.timestamp_ms > *newest) newest = record.timestamp_ms;
            },
            stats);
        total.segments += stats.segments;
        total.records += stats.records;
        total.corrupt += stats.corrupt;
        total_bytes += bytes.size();
        out.write(segment.path.filename().string() + "  records " + std::to_string(stats.records) +
                  "  bytes " + std::to_string(bytes.size()) + "  " + reasons.text() + "  corrupt " +
                  std::to_string(stats.corrupt) + "\n");
    }
    out.write("segments " + std::to_string(total.segments) + "\n");
    out.write("records " + std::to_string(total.records) + "  " + total_reasons.text() + "\n");
    out.write("bytes " + std::to_string(total_bytes) + "\n");
    out.write("oldest " + (oldest ? rfc3339(*oldest) : std::string("-")) + "\n");
    out.write("newest " + (newest ? rfc3339(*newest) : std::string("-")) + "\n");
    out.write("corrupt " + std::to_string(total.corrupt) + "\n");
    return 0;
}

int run_cat(const fs::path& dir, Output& out) {
    SpoolReader reader(dir);
    for (SpoolRecord record; reader.next(record);) out.write(record_json(record));
    if (reader.stats().corrupt != 0) {
        std::fprintf(stderr, "%s: %llu corrupt stretch(es) skipped\n", program,
                     static_cast<unsigned long long>(reader.stats().corrupt));
    }
    return 0;
}

int run_verify(const fs::path& dir, Output& out) {
    SpoolReader reader(dir);
    for (SpoolRecord record; reader.next(record);) {
    }
    const SpoolReadStats& stats = reader.stats();
    out.write("records " + std::to_string(stats.records) + ", corrupt " +
              std::to_string(stats.corrupt) + ", segments " + std::to_string(stats.segments) +
              ", torn " + std::to_string(stats.torn) + "\n");
    return stats.corrupt == 0 ? 0 : 1;
}

SpoolTally tally_spool(const fs::path& dir, bool report,
                       const std::function<void(const SpoolRecord&)>& each) {
    const SpoolReader reader(dir);
    SpoolTally tally;
    for (const auto& segment : reader.segments()) {
        SpoolReadStats stats;
        try {
            const std::string bytes = read_whole_file(segment.path);
            SpoolReader::read_segment(
                bytes, segment.path,
                [&](SpoolRecord&& record) {
                    tally.payload_bytes += record.payload.size();
                    if (each) each(record);
                },
                stats);
        } catch (const SpoolError& e) {
            std::error_code ec;
            if (!fs::exists(segment.path, ec)) continue;  // deleted meanwhile
            ++tally.unreadable;
            if (report) std::fprintf(stderr, "%s: %s\n", program, e.what());
            continue;
        }
        tally.records += stats.records;
        tally.corrupt += stats.corrupt;
    }
    return tally;
}

}  // namespace kafka_log::spool_tool
