// SPDX-License-Identifier: Apache-2.0
// kafka_log_spool: lists, prints and verifies a spool directory written by SpoolFallback.
// Read-only: it never changes the spool.

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kafka_log/fallback_writer.hpp"
#include "kafka_log/spool_reader.hpp"

namespace {

namespace fs = std::filesystem;
using kafka_log::FallbackReason;
using kafka_log::SpoolError;
using kafka_log::SpoolReader;
using kafka_log::SpoolReadStats;
using kafka_log::SpoolRecord;

constexpr const char* program = "kafka_log_spool";

constexpr const char* usage_text =
    "Usage: kafka_log_spool COMMAND DIR\n"
    "       kafka_log_spool --help\n"
    "\n"
    "Reads a spool directory written by kafka_log::SpoolFallback (never changes it).\n"
    "\n"
    "Commands:\n"
    "  ls DIR      one line per segment file (name, records, bytes on disk, records per\n"
    "              reason, corrupt stretches), then totals: segments, records per reason,\n"
    "              bytes, oldest and newest record time (RFC 3339, UTC), corrupt count.\n"
    "  cat DIR     every record, in write order, as one JSON object per line with the keys\n"
    "              id, topic, key, timestamp_ms, reason, possibly_persisted, error, payload.\n"
    "              key and payload are JSON strings when they are valid UTF-8; otherwise the\n"
    "              key is named key_b64 / payload_b64 and holds standard base64. key is null\n"
    "              for a record without a key. Headers are not printed. Bytes of the topic\n"
    "              that are not valid UTF-8 are printed as U+FFFD.\n"
    "  verify DIR  reads every record and prints 'records N, corrupt M, segments S, torn T'.\n"
    "\n"
    "Options:\n"
    "  -h, --help  print this help and exit.\n"
    "  --          end of options (for a DIR starting with '-').\n"
    "\n"
    "Exit status:\n"
    "  0  success (ls and cat also when corrupt stretches were skipped: they are counted in\n"
    "     ls's totals and reported on stderr by cat; verify: no corrupt stretch).\n"
    "  1  verify found corrupt stretches; or a segment could not be read, has an unknown\n"
    "     format version, or the output could not be written.\n"
    "  2  bad command line, or DIR does not exist or is not a directory.\n";

// --- text helpers ---------------------------------------------------------------------------

/// Length of the valid UTF-8 sequence starting at `s[i]`, or 0 when it is not one (overlong
/// forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        if (b0 == 0xE0) lo = 0xA0;  // overlong
        if (b0 == 0xED) hi = 0x9F;  // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        if (b0 == 0xF0) lo = 0x90;  // overlong
        if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        return 0;  // continuation byte, C0/C1 (overlong), F5..FF
    }
    if (s.size() - i < n) return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
    }
    return n;
}

bool valid_utf8(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_sequence(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

/// Appends `s` as a JSON string; bytes that are not valid UTF-8 become U+FFFD.
void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_sequence(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        if (n > 1) {
            out.append(s.substr(i, n));
            i += n;
            continue;
        }
        const auto c = static_cast<unsigned char>(s[i++]);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xF];
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
}

/// Standard base64 (RFC 4648, with padding).
std::string base64(std::string_view s) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((s.size() + 2) / 3 * 4);
    std::size_t i = 0;
    const auto at = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[k])); };
    for (; s.size() - i >= 3; i += 3) {
        const std::uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
        out += alphabet[v >> 18 & 0x3F];
        out += alphabet[v >> 12 & 0x3F];
        out += alphabet[v >> 6 & 0x3F];
        out += alphabet[v & 0x3F];
    }
    if (s.size() - i == 1) {
        const std::uint32_t v = at(i) << 16;
        out += alphabet[v >> 18 & 0x3F];
        out += alphabet[v >> 12 & 0x3F];
        out += "==";
    } else if (s.size() - i == 2) {
        const std::uint32_t v = at(i) << 16 | at(i + 1) << 8;
        out += alphabet[v >> 18 & 0x3F];
        out += alphabet[v >> 12 & 0x3F];
        out += alphabet[v >> 6 & 0x3F];
        out += '=';
    }
    return out;
}

/// `"name":"text"` when the bytes are valid UTF-8, `"name_b64":"base64"` otherwise.
void append_bytes_field(std::string& out, std::string_view name, std::string_view bytes) {
    out += '"';
    out += name;
    if (valid_utf8(bytes)) {
        out += "\":";
        append_json_string(out, bytes);
    } else {
        out += "_b64\":\"";
        out += base64(bytes);
        out += '"';
    }
}

/// RFC 3339 in UTC with milliseconds: 2024-05-01T12:34:56.789Z.
std::string rfc3339(std::int64_t ms) {
    std::int64_t seconds = ms / 1000;
    std::int64_t millis = ms % 1000;
    if (millis < 0) {
        millis += 1000;
        --seconds;
    }
    const auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    if (::gmtime_r(&t, &tm) == nullptr) return std::to_string(ms) + "ms";
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
    return text;
}

// --- output ---------------------------------------------------------------------------------

/// Writes to stdout; remembers a failure (a closed pipe, a full disk) for the exit status.
class Output {
public:
    void write(std::string_view text) {
        if (!failed_ && std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) failed_ = true;
    }
    /// \return false when anything could not be written.
    bool finish() {
        if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) failed_ = true;
        if (failed_) std::fprintf(stderr, "%s: cannot write the output: %s\n", program, std::strerror(errno));
        return !failed_;
    }

private:
    bool failed_ = false;
};

// --- per-reason counts ------------------------------------------------------------------------

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

// --- commands -------------------------------------------------------------------------------

std::string read_whole_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw SpoolError(std::string(program) + ": cannot open '" + path.string() + "': " + std::strerror(errno), path);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw SpoolError(std::string(program) + ": cannot read '" + path.string() + "'", path);
    return bytes;
}

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
        out.write(segment.path.filename().string() + "  records " + std::to_string(stats.records) + "  bytes " +
                  std::to_string(bytes.size()) + "  " + reasons.text() + "  corrupt " +
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

std::string record_json(const SpoolRecord& record) {
    std::string line = "{\"id\":";
    append_json_string(line, record.id);
    line += ",\"topic\":";
    append_json_string(line, record.topic);
    line += ',';
    if (record.key) {
        append_bytes_field(line, "key", *record.key);
    } else {
        line += "\"key\":null";
    }
    line += ",\"timestamp_ms\":" + std::to_string(record.timestamp_ms);
    line += ",\"reason\":";
    append_json_string(line, kafka_log::to_string(record.reason));
    line += ",\"possibly_persisted\":";
    line += record.possibly_persisted ? "true" : "false";
    line += ",\"error\":" + std::to_string(record.error);
    line += ',';
    append_bytes_field(line, "payload", record.payload);
    line += "}\n";
    return line;
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
    out.write("records " + std::to_string(stats.records) + ", corrupt " + std::to_string(stats.corrupt) +
              ", segments " + std::to_string(stats.segments) + ", torn " + std::to_string(stats.torn) + "\n");
    return stats.corrupt == 0 ? 0 : 1;
}

int usage_error(const std::string& what) {
    std::fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", program, what.c_str(), program);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string_view> positional;
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (!options_done && (arg == "-h" || arg == "--help")) {
            std::fputs(usage_text, stdout);
            return std::fflush(stdout) == 0 ? 0 : 1;
        }
        if (!options_done && arg == "--") {
            options_done = true;
        } else if (!options_done && arg.size() > 1 && arg[0] == '-') {
            return usage_error("unknown option '" + std::string(arg) + "'");
        } else {
            positional.push_back(arg);
        }
    }
    if (positional.empty()) return usage_error("no command given (ls, cat or verify)");
    const std::string command(positional[0]);
    int (*run)(const fs::path&, Output&) = nullptr;
    if (command == "ls") {
        run = run_ls;
    } else if (command == "cat") {
        run = run_cat;
    } else if (command == "verify") {
        run = run_verify;
    } else {
        return usage_error("unknown command '" + command + "'");
    }
    if (positional.size() < 2) return usage_error("'" + command + "' needs a spool directory (DIR)");
    if (positional.size() > 2) return usage_error("unexpected argument '" + std::string(positional[2]) + "'");
    const fs::path dir(positional[1]);

    Output out;
    int status = 0;
    try {
        status = run(dir, out);
    } catch (const SpoolError& e) {
        out.finish();
        std::fprintf(stderr, "%s\n", e.what());
        std::error_code ec;
        return e.path() == dir && !fs::is_directory(dir, ec) ? 2 : 1;
    } catch (const std::exception& e) {
        out.finish();
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return 1;
    }
    if (!out.finish()) return 1;
    return status;
}
