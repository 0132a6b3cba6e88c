// SPDX-License-Identifier: Apache-2.0
// kafka_log_spool: lists, prints and verifies a spool directory written by SpoolFallback, and
// replays it to Kafka. ls, cat, verify and `replay --dry-run` are read-only; `replay` changes the
// spool: it takes the directory's lock, marks records in place as it sends them and deletes a
// segment once Kafka has confirmed every record in it (SpoolDrain).

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "kafka_log/errors.hpp"
#include "kafka_log/fallback_writer.hpp"
#include "kafka_log/producer_config.hpp"
#include "kafka_log/rdkafka_producer.hpp"
#include "kafka_log/spool_drain.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "kafka_log/spool_reader.hpp"

namespace {

namespace fs = std::filesystem;
using kafka_log::ConfigError;
using kafka_log::FallbackReason;
using kafka_log::ProducerConfig;
using kafka_log::RdKafkaProducer;
using kafka_log::SpoolDrain;
using kafka_log::SpoolDrainStats;
using kafka_log::SpoolError;
using kafka_log::SpoolReader;
using kafka_log::SpoolReadStats;
using kafka_log::SpoolRecord;

constexpr const char* program = "kafka_log_spool";

constexpr const char* usage_text =
    "Usage: kafka_log_spool ls|cat|verify DIR\n"
    "       kafka_log_spool replay DIR --brokers HOST:PORT[,...] [--producer-config FILE]\n"
    "                              [--topic T] [--rate N] [--dry-run]\n"
    "       kafka_log_spool --help\n"
    "\n"
    "Reads a spool directory written by kafka_log::SpoolFallback, and replays it to Kafka.\n"
    "ls, cat, verify and replay --dry-run never change the spool; replay does.\n"
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
    "  replay DIR  sends the spool's records to Kafka, for a spool whose process is gone (a\n"
    "              live application drains its own spool). It takes the directory's lock,\n"
    "              so it refuses a spool a live process holds. Each record keeps its topic,\n"
    "              key, headers and timestamp and gains the headers kafka_log.id (its id)\n"
    "              and kafka_log.replayed ('1', or 'possibly-duplicate' when it may be on\n"
    "              Kafka already). A record is marked in the spool before it is sent and\n"
    "              when Kafka confirms it; a segment is deleted once all of it is on Kafka.\n"
    "              Interrupting it (Ctrl-C, kill -9) loses nothing: run it again and it\n"
    "              sends only what is left, and again only the records that were waiting for\n"
    "              Kafka's answer (at most 1000), flagged possibly-duplicate. It runs passes\n"
    "              over the spool, each waiting up to the producer's message.timeout.ms (and\n"
    "              5 s) for Kafka's answers, until a pass confirms nothing new or two passes\n"
    "              in a row fail without confirming anything. Progress goes to stderr: a bar\n"
    "              redrawn in place on a terminal, otherwise a line every 10000 records or\n"
    "              5 s. At the end it prints on stdout\n"
    "                replayed N, skipped as corrupt M, failed F, left L\n"
    "              N records confirmed on Kafka; M corrupt stretches skipped (their segment\n"
    "              is kept as *.corrupt once its whole records are on Kafka); F sends Kafka\n"
    "              refused or did not confirm (a record tried in two passes counts twice);\n"
    "              L records still in the spool, read back after the run.\n"
    "\n"
    "Options:\n"
    "  -h, --help  print this help and exit.\n"
    "  --          end of options (for a DIR starting with '-').\n"
    "  Of replay (each also as --option=VALUE):\n"
    "  --brokers HOST:PORT[,...]  the cluster (bootstrap.servers). Required.\n"
    "  --producer-config FILE     librdkafka properties, one key=value a line ('#' comments),\n"
    "                             applied after bootstrap.servers and enable.idempotence=true\n"
    "                             (the tool's defaults), so they may override them.\n"
    "  --topic T                  send every record to topic T instead of its own.\n"
    "  --rate N                   records per second, at most (default 10000; 0: unbounded).\n"
    "  --dry-run                  read the spool and print what would be sent: one line per\n"
    "                             topic ('topic T: records N, payload bytes B'), then a total\n"
    "                             line. Sends nothing, changes nothing, takes no lock.\n"
    "\n"
    "Exit status:\n"
    "  0  success (ls and cat also when corrupt stretches were skipped: they are counted in\n"
    "     ls's totals and reported on stderr by cat; verify: no corrupt stretch; replay: no\n"
    "     record left in the spool; replay --dry-run: the spool holds no record).\n"
    "  1  verify found corrupt stretches; or a segment could not be read, has an unknown\n"
    "     format version, or the output could not be written; replay: records are left in\n"
    "     the spool (Kafka unreachable or refusing them), or a live process holds the spool\n"
    "     (the command line was fine: run it again when that process is gone); replay\n"
    "     --dry-run: the spool holds records.\n"
    "  2  bad command line (an unknown option, a missing --brokers or DIR, a bad --rate), a\n"
    "     --producer-config file or property that cannot be used, or DIR does not exist or\n"
    "     is not a directory.\n";

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

// --- replay ---------------------------------------------------------------------------------

using steady = std::chrono::steady_clock;

/// What `replay` was asked to do.
struct ReplayArgs {
    fs::path dir;
    std::string brokers;
    std::optional<fs::path> producer_config;
    std::string topic;  ///< Empty: every record keeps its own.
    double rate = 10000;
    bool dry_run = false;
};

/// What a read of the whole spool found.
struct SpoolTally {
    std::uint64_t records = 0;
    std::uint64_t payload_bytes = 0;
    std::uint64_t corrupt = 0;
    std::uint64_t unreadable = 0;  ///< Segments that could not be read (their records are not counted).
};

/// Reads every segment of `dir`, one at a time, calling `each` for every record. A segment that
/// cannot be read is counted in `unreadable` (and, with `report`, named on stderr); the others
/// are still read. \throws SpoolError when `dir` cannot be listed.
SpoolTally tally_spool(const fs::path& dir, bool report, const std::function<void(const SpoolRecord&)>& each = {}) {
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

/// `12.3 MB`
std::string megabytes(double bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MB", bytes / 1e6);
    return text;
}

/// `2:03`, `1:02:03`, or `--:--` when unknown.
std::string duration_text(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e7) return "--:--";
    const auto s = static_cast<unsigned long long>(std::llround(seconds));
    char text[48];
    if (s >= 3600) {
        std::snprintf(text, sizeof text, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
    } else {
        std::snprintf(text, sizeof text, "%llu:%02llu", s / 60, s % 60);
    }
    return text;
}

/// Everything a replay prints on stderr while it runs: its progress — on a terminal one bar
/// redrawn in place with `\r`, otherwise a plain line every 10 000 records or 5 s — and
/// librdkafka's log and error lines (at most 10 a second), which never land inside the bar.
///
/// Thread safety: `message` may be called from any thread (librdkafka's lines come from the
/// producer's thread); the rest from the thread that made it.
class ReplayConsole {
public:
    explicit ReplayConsole(bool terminal) : terminal_(terminal) {}
    ReplayConsole(const ReplayConsole&) = delete;
    ReplayConsole& operator=(const ReplayConsole&) = delete;
    ~ReplayConsole() {
        try {
            finish();
        } catch (...) {
        }
    }

    /// Starts showing progress towards `total` records, reading the counters from `stats`.
    void start(std::uint64_t total, std::function<SpoolDrainStats()> stats) {
        std::unique_lock lock(mutex_);
        total_ = total;
        stats_ = std::move(stats);
        started_ = last_line_ = steady::now();
        running_ = true;
        if (terminal_) {
            draw_locked(stats_(), false);
        } else {
            put_locked(std::string(program) + ": replaying " + std::to_string(total) + " records\n");
        }
        lock.unlock();
        ticker_ = std::thread([this] { tick(); });
    }

    /// Stops the progress and shows the final counters (ending the bar's line).
    void finish() {
        {
            std::lock_guard lock(mutex_);
            if (!running_) return;
            running_ = false;
        }
        wake_.notify_all();
        if (ticker_.joinable()) ticker_.join();
        std::lock_guard lock(mutex_);
        draw_locked(stats_(), true);
        if (terminal_) put_locked("\n");
        bar_ = 0;
    }

    /// One line of its own (librdkafka's log), at most 10 a second. With `unless_logged`, the
    /// line is left out when the last line ended with that text (librdkafka reports most client
    /// errors both as a log line and as an error).
    void message(std::string_view text, std::string_view unless_logged = {}) noexcept {
        try {
            std::lock_guard lock(mutex_);
            if (!unless_logged.empty() && last_message_.ends_with(unless_logged)) return;
            last_message_ = text;
            const auto now = steady::now();
            if (now - window_ >= std::chrono::seconds(1)) {
                window_ = now;
                if (suppressed_ != 0) {
                    clear_bar_locked();
                    put_locked(std::string(program) + ": (" + std::to_string(suppressed_) +
                               " librdkafka lines not shown)\n");
                }
                in_window_ = 0;
                suppressed_ = 0;
            }
            if (++in_window_ > 10) {
                ++suppressed_;
                return;
            }
            clear_bar_locked();
            put_locked(std::string(program) + ": " + std::string(text) + "\n");
            if (running_ && terminal_) draw_locked(stats_(), false);  // the bar again, below the line
        } catch (...) {
            // No memory for a log line: not worth failing the replay.
        }
    }

private:
    void tick() {
        std::unique_lock lock(mutex_);
        const auto period = terminal_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(100);
        while (!wake_.wait_for(lock, period, [this] { return !running_; })) {
            const SpoolDrainStats now = stats_();
            if (terminal_ || now.replayed >= last_replayed_ + 10000 ||
                steady::now() - last_line_ >= std::chrono::seconds(5)) {
                draw_locked(now, false);
            }
        }
    }

    /// `12345/50000 records`, the rate and the ETA; `done` after the last pass.
    void draw_locked(const SpoolDrainStats& s, bool done) {
        const double elapsed = std::chrono::duration<double>(steady::now() - started_).count();
        const std::uint64_t left = total_ > s.replayed ? total_ - s.replayed : 0;
        const double per_second = elapsed > 0 ? static_cast<double>(s.replayed) / elapsed : 0;
        const std::string eta = left == 0 ? duration_text(0)
                                : per_second > 0 ? duration_text(static_cast<double>(left) / per_second)
                                                 : duration_text(-1);
        const std::string rate = megabytes(elapsed > 0 ? static_cast<double>(s.sent_bytes) / elapsed : 0) + "/s";
        std::string text = std::to_string(s.replayed) + "/" + std::to_string(total_) + " records";
        if (s.failures != 0) text += ", failed " + std::to_string(s.failures);
        last_replayed_ = s.replayed;
        last_line_ = steady::now();
        if (!terminal_) {
            put_locked(std::string(program) + ": " + (done ? "done: replayed " : "replayed ") + text + ", " + rate +
                       ", ETA " + eta + "\n");
            return;
        }
        constexpr std::size_t width = 30;
        const std::size_t filled =
            total_ == 0 ? width : static_cast<std::size_t>(static_cast<double>(width) *
                                                           static_cast<double>(std::min(s.replayed, total_)) /
                                                           static_cast<double>(total_));
        std::string line = "\r[" + std::string(filled, '#') + std::string(width - filled, '.') + "] " + text + "  " +
                           rate + "  ETA " + eta;
        const std::size_t length = line.size();
        if (length < bar_) line.append(bar_ - length, ' ');  // wipe a longer earlier bar
        bar_ = length;
        put_locked(line);
    }

    void clear_bar_locked() {
        if (!terminal_ || bar_ == 0) return;
        put_locked("\r" + std::string(bar_, ' ') + "\r");
        bar_ = 0;
    }

    static void put_locked(const std::string& text) {
        [[maybe_unused]] const std::size_t n = std::fwrite(text.data(), 1, text.size(), stderr);
        std::fflush(stderr);
    }

    const bool terminal_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::thread ticker_;
    bool running_ = false;
    std::uint64_t total_ = 0;
    std::function<SpoolDrainStats()> stats_;
    steady::time_point started_{};
    steady::time_point last_line_{};
    std::uint64_t last_replayed_ = 0;
    std::size_t bar_ = 0;  // length of the bar on screen (terminal), 0: none
    steady::time_point window_{};
    unsigned in_window_ = 0;
    std::uint64_t suppressed_ = 0;
    std::string last_message_;
};

/// The 1-based line of `path` that sets `key`, or 0.
int line_of_key(const fs::path& path, const std::string& key) {
    std::ifstream in(path);
    int number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        const auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string name = line.substr(0, eq);
        const auto first = name.find_first_not_of(" \t\r");
        const auto last = name.find_last_not_of(" \t\r");
        if (first != std::string::npos && name.substr(first, last - first + 1) == key) return number;
    }
    return 0;
}

/// How long a pass waits for Kafka's answers: the producer's message timeout (librdkafka
/// reports every record within it), and 5 s for the reports to arrive.
std::chrono::milliseconds answer_wait(const ProducerConfig& config) {
    long long timeout_ms = 30000;  // RdKafkaProducer's default
    for (const char* key : {"message.timeout.ms", "delivery.timeout.ms"}) {
        if (const auto value = config.get(key)) {
            long long parsed = 0;
            const auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), parsed);
            if (ec == std::errc{} && ptr == value->data() + value->size() && parsed >= 0) timeout_ms = parsed;
        }
    }
    if (timeout_ms == 0) timeout_ms = 300000;  // 0 is "no timeout" to librdkafka: give a pass 5 minutes
    return std::chrono::milliseconds(timeout_ms + 5000);
}

/// `replay --dry-run`: what would be sent, per topic.
int run_dry_run(const ReplayArgs& args, Output& out) {
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> per_topic;  // records, payload bytes
    std::uint64_t possibly_duplicate = 0;
    const SpoolTally tally = tally_spool(args.dir, true, [&](const SpoolRecord& record) {
        auto& [records, bytes] = per_topic[args.topic.empty() ? record.topic : args.topic];
        ++records;
        bytes += record.payload.size();
        if (record.possibly_persisted) ++possibly_duplicate;
    });
    for (const auto& [topic, counts] : per_topic) {
        out.write("topic " + topic + ": records " + std::to_string(counts.first) + ", payload bytes " +
                  std::to_string(counts.second) + "\n");
    }
    out.write("would replay " + std::to_string(tally.records) + " records, payload bytes " +
              std::to_string(tally.payload_bytes) + ", topics " + std::to_string(per_topic.size()) +
              ", possibly duplicate " + std::to_string(possibly_duplicate) + ", skipped as corrupt " +
              std::to_string(tally.corrupt) + "\n");
    return tally.records == 0 && tally.unreadable == 0 ? 0 : 1;
}

/// "in use by pid 1234" in SpoolFallback's lock error, or empty when it is another error.
std::string holder_pid(std::string_view message) {
    constexpr std::string_view marker = "in use by pid ";
    const auto at = message.find(marker);
    if (at == std::string_view::npos) return {};
    const auto begin = at + marker.size();
    const auto end = message.find_first_not_of("0123456789?", begin);
    return std::string(message.substr(begin, end == std::string_view::npos ? end : end - begin));
}

/// Passes of the drain until one confirms nothing new, or two in a row fail without confirming
/// anything.
void drain_passes(SpoolDrain& drain, std::chrono::milliseconds wait) {
    int failed_in_a_row = 0;
    for (;;) {
        const std::uint64_t before = drain.stats().replayed;
        const bool ok = drain.drain_once(wait);
        const bool confirmed = drain.stats().replayed > before;
        if (ok && !confirmed) return;  // nothing new to send (or only what Kafka refuses as too large)
        if (ok || confirmed) {
            failed_in_a_row = 0;
        } else if (++failed_in_a_row == 2) {
            return;
        }
    }
}

int run_replay(const ReplayArgs& args, Output& out) {
    std::error_code ec;
    if (!fs::is_directory(args.dir, ec)) {
        std::fprintf(stderr, "%s: '%s' %s\n", program, args.dir.c_str(),
                     fs::exists(args.dir, ec) ? "is not a directory" : "does not exist");
        return 2;
    }
    ProducerConfig config;
    config.set("bootstrap.servers", args.brokers).set("enable.idempotence", "true");
    try {
        if (args.producer_config) config.merge(ProducerConfig::from_file(*args.producer_config));
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "%s: --producer-config: %s\n", program, e.what());
        return 2;
    }
    if (args.dry_run) return run_dry_run(args, out);

    ReplayConsole console(::isatty(STDERR_FILENO) == 1);
    kafka_log::RdKafkaOptions options;
    options.log_callback = [&console](int, std::string_view facility, std::string_view message) {
        console.message("librdkafka " + std::string(facility) + ": " + std::string(message));
    };
    options.error_callback = [&console](int, std::string_view reason) {
        console.message("kafka: " + std::string(reason), reason);
    };
    std::shared_ptr<RdKafkaProducer> producer;
    try {
        producer = std::make_shared<RdKafkaProducer>(config, std::move(options));
    } catch (const ConfigError& e) {
        const int line = args.producer_config && !e.key().empty() ? line_of_key(*args.producer_config, e.key()) : 0;
        if (line != 0) {
            std::fprintf(stderr, "%s: %s:%d: key '%s': %s\n", program, args.producer_config->c_str(), line,
                         e.key().c_str(), e.what());
        } else {
            std::fprintf(stderr, "%s: producer configuration: %s\n", program, e.what());
        }
        return 2;
    }

    // The lock: a spool a live process holds is that process's to drain. Segments are never
    // written by this spool: the smallest reservation will do.
    std::shared_ptr<kafka_log::SpoolFallback> spool;
    try {
        spool = std::make_shared<kafka_log::SpoolFallback>(
            args.dir, kafka_log::SpoolOptions{.segment_bytes = 4096, .replay_rate = 0});
    } catch (const SpoolError& e) {
        producer->close(std::chrono::milliseconds(0));  // nothing was sent
        const std::string pid = holder_pid(e.what());
        if (!pid.empty()) {
            std::fprintf(stderr, "%s: %s is held by a live writer (pid %s): %s\n", program, args.dir.c_str(),
                         pid.c_str(), e.what());
        } else {
            std::fprintf(stderr, "%s: %s\n", program, e.what());
        }
        return 1;
    }

    const SpoolTally before = tally_spool(args.dir, false);  // unreadable ones: the drain says so
    kafka_log::SpoolDrainOptions drain_options;
    drain_options.rate = args.rate;
    drain_options.topic = args.topic;
    auto drain = std::make_shared<SpoolDrain>(spool, producer, std::move(drain_options));
    // The drain outlives every report: the producer is closed (and its last reports served)
    // before the drain goes.
    producer->set_delivery_handler([d = drain.get()](const kafka_log::DeliveryReport& r) { d->on_report(r); });
    SpoolDrainStats stats;
    try {
        console.start(before.records, [d = drain.get()] { return d->stats(); });
        drain_passes(*drain, answer_wait(config));
        producer->close(std::chrono::seconds(5));  // what is still in flight is reported to the drain
        console.finish();
        stats = drain->stats();
    } catch (...) {
        producer->close(std::chrono::seconds(5));
        console.finish();  // while the drain it reads is still there
        throw;
    }
    drain.reset();
    producer.reset();
    spool.reset();  // unlocks the directory

    const SpoolTally left = tally_spool(args.dir, true);
    out.write("replayed " + std::to_string(stats.replayed) + ", skipped as corrupt " + std::to_string(stats.corrupt) +
              ", failed " + std::to_string(stats.failures) + ", left " + std::to_string(left.records) + "\n");
    if (left.unreadable != 0) {
        std::fprintf(stderr, "%s: %llu segment(s) could not be read; their records are not in 'left'\n", program,
                     static_cast<unsigned long long>(left.unreadable));
    }
    return left.records == 0 && left.unreadable == 0 ? 0 : 1;
}

int usage_error(const std::string& what) {
    std::fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", program, what.c_str(), program);
    return 2;
}

/// Reads `--rate`'s value: records per second, a finite number >= 0.
std::optional<double> parse_rate(std::string_view text) {
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(value) || value < 0) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string_view> positional;
    ReplayArgs replay;
    std::string replay_option;  // the first option of replay's given (refused with another command)
    bool brokers_given = false;
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (!options_done && (arg == "-h" || arg == "--help")) {
            std::fputs(usage_text, stdout);
            return std::fflush(stdout) == 0 ? 0 : 1;
        }
        if (options_done || arg.size() <= 1 || arg[0] != '-') {
            positional.push_back(arg);
            continue;
        }
        if (arg == "--") {
            options_done = true;
            continue;
        }
        // --name VALUE or --name=VALUE
        const auto eq = arg.find('=');
        const std::string name(arg.substr(0, eq));
        std::optional<std::string_view> inline_value;
        if (eq != std::string_view::npos && arg.starts_with("--")) inline_value = arg.substr(eq + 1);
        if (name == "--dry-run") {
            if (inline_value) return usage_error("option '--dry-run' takes no value");
            replay.dry_run = true;
        } else if (name == "--brokers" || name == "--producer-config" || name == "--topic" || name == "--rate") {
            std::string_view value;
            if (inline_value) {
                value = *inline_value;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                return usage_error("option '" + name + "' needs a value");
            }
            if (name == "--brokers") {
                if (value.empty()) return usage_error("option '--brokers' needs HOST:PORT[,...], not an empty value");
                replay.brokers = value;
                brokers_given = true;
            } else if (name == "--producer-config") {
                if (value.empty()) return usage_error("option '--producer-config' needs a file name");
                replay.producer_config = fs::path(value);
            } else if (name == "--topic") {
                if (value.empty()) return usage_error("option '--topic' needs a topic name");
                replay.topic = value;
            } else {
                const auto rate = parse_rate(value);
                if (!rate) {
                    return usage_error("option '--rate': '" + std::string(value) +
                                       "' is not a number of records per second (0 or more; 0: unbounded)");
                }
                replay.rate = *rate;
            }
        } else {
            return usage_error("unknown option '" + std::string(arg.substr(0, eq)) + "'");
        }
        if (replay_option.empty()) replay_option = name;
    }
    if (positional.empty()) return usage_error("no command given (ls, cat, verify or replay)");
    const std::string command(positional[0]);
    int (*run)(const fs::path&, Output&) = nullptr;
    if (command == "ls") {
        run = run_ls;
    } else if (command == "cat") {
        run = run_cat;
    } else if (command == "verify") {
        run = run_verify;
    } else if (command != "replay") {
        return usage_error("unknown command '" + command + "'");
    }
    if (positional.size() < 2) return usage_error("'" + command + "' needs a spool directory (DIR)");
    if (positional.size() > 2) return usage_error("unexpected argument '" + std::string(positional[2]) + "'");
    if (run != nullptr && !replay_option.empty()) {
        return usage_error("option '" + replay_option + "' is an option of 'replay', not of '" + command + "'");
    }
    if (run == nullptr && !brokers_given) return usage_error("'replay' needs --brokers HOST:PORT[,...]");
    const fs::path dir(positional[1]);
    replay.dir = dir;

    Output out;
    int status = 0;
    try {
        status = run != nullptr ? run(dir, out) : run_replay(replay, out);
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
