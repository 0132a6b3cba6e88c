// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/json_encoder.hpp"

#include "../detail/json_text.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

namespace kafka_log {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";
constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

/// Length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no overlongs, no
/// surrogates, nothing above U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s) noexcept {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char c = b(0);
    const auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (s.size() < 3 || !cont(1) || !cont(2)) return 0;
        if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
        if (c == 0xED && b(1) > 0x9F) return 0;  // UTF-16 surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (s.size() < 4 || !cont(1) || !cont(2) || !cont(3)) return 0;
        if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
        if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
        return 4;
    }
    return 0;
}

}  // namespace

/// Bytes that end a run of plain ASCII: control characters, '"', '\\' and every non-ASCII byte.
constexpr auto special_bytes = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 256; ++c) table[static_cast<std::size_t>(c)] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
    return table;
}();

/// True when one of the 8 bytes of `word` is special (see special_bytes): a control
/// character, '"', '\\' or a non-ASCII byte. Exact: no byte is missed, none is invented.
constexpr bool has_special_byte(std::uint64_t word) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    const auto has_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    const std::uint64_t non_ascii = word & highs;
    const std::uint64_t control = (word - 0x20 * ones) & ~word & highs;
    return (non_ascii | control | has_zero(word ^ ('"' * ones)) | has_zero(word ^ ('\\' * ones))) != 0;
}

void detail::write_escaped(detail::TextCursor& out, std::string_view value) {
    std::size_t plain_start = 0;
    std::size_t i = 0;
    const auto flush_plain = [&] { out.write(value.substr(plain_start, i - plain_start)); };
    const auto* bytes = reinterpret_cast<const unsigned char*>(value.data());
    while (i < value.size()) {
        // The common case, plain text: eight bytes at a time, then byte by byte.
        while (i + 8 <= value.size()) {
            std::uint64_t word;
            std::memcpy(&word, bytes + i, sizeof word);
            if (has_special_byte(word)) break;
            i += 8;
        }
        // Fewer than eight bytes left: the last eight, overlapping, settle them at once.
        if (i + 8 > value.size() && value.size() >= 8 && i < value.size()) {
            std::uint64_t word;
            std::memcpy(&word, bytes + value.size() - 8, sizeof word);
            if (!has_special_byte(word)) i = value.size();
        }
        while (i < value.size() && !special_bytes[bytes[i]]) ++i;
        if (i == value.size()) break;
        const auto c = bytes[i];
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence(value.substr(i));
            if (n != 0) {
                i += n;
                continue;
            }
            flush_plain();
            out.write(replacement);
            ++i;
            plain_start = i;
            continue;
        }
        flush_plain();
        switch (c) {
            case '"': out.write("\\\""); break;
            case '\\': out.write("\\\\"); break;
            case '\n': out.write("\\n"); break;
            case '\r': out.write("\\r"); break;
            case '\t': out.write("\\t"); break;
            case '\b': out.write("\\b"); break;
            case '\f': out.write("\\f"); break;
            default: {
                const char escaped[] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xF]};
                out.write(std::string_view(escaped, sizeof escaped));
            }
        }
        ++i;
        plain_start = i;
    }
    flush_plain();
}

void JsonEncoder::append_escaped(std::string& out, std::string_view value) {
    detail::TextCursor cursor(out, value.size());
    detail::write_escaped(cursor, value);
}

namespace {

/// A time split into whole seconds (floor) and milliseconds.
struct SplitTime {
    std::int64_t seconds;
    int millis;
};

SplitTime split(std::chrono::system_clock::time_point t) noexcept {
    using namespace std::chrono;
    const auto ms_since_epoch = duration_cast<milliseconds>(t.time_since_epoch()).count();
    SplitTime out{ms_since_epoch / 1000, static_cast<int>(ms_since_epoch % 1000)};
    if (out.millis < 0) {
        out.millis += 1000;
        --out.seconds;
    }
    return out;
}

/// `"2026-11-24T23:10:46.000+00:00"`, quotes included, for one second: records come in
/// bursts within a second, so the calendar and the offset are worked out once per second
/// per thread, and each record copies the text and writes its three millisecond digits.
struct TimeText {
    std::int64_t seconds = INT64_MIN;
    bool utc = true;
    char text[64] = {};
    std::size_t size = 0;       // with both quotes
    std::size_t millis_at = 0;  // index of the first millisecond digit
};

const TimeText& time_text(std::int64_t seconds, bool utc) {
    thread_local TimeText cache;
    if (cache.seconds == seconds && cache.utc == utc) return cache;
    const std::time_t tt = static_cast<std::time_t>(seconds);
    std::tm tm{};
    long gmtoff = 0;
    if (utc) {
        ::gmtime_r(&tt, &tm);
    } else {
        ::localtime_r(&tt, &tm);
        gmtoff = tm.tm_gmtoff;
    }
    const long abs_offset = gmtoff < 0 ? -gmtoff : gmtoff;
    const int n = std::snprintf(cache.text, sizeof cache.text, "\"%04d-%02d-%02dT%02d:%02d:%02d.000%c%02ld:%02ld\"",
                                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                                gmtoff < 0 ? '-' : '+', abs_offset / 3600, (abs_offset % 3600) / 60);
    cache.size = n > 0 ? std::min(static_cast<std::size_t>(n), sizeof cache.text - 1) : 0;
    const char* dot = static_cast<const char*>(std::memchr(cache.text + 1, '.', cache.size));
    cache.millis_at = dot != nullptr ? static_cast<std::size_t>(dot - cache.text) + 1 : 0;
    cache.seconds = seconds;
    cache.utc = utc;
    return cache;
}

}  // namespace

void detail::write_time(detail::TextCursor& out, std::chrono::system_clock::time_point t, bool utc, bool quoted) {
    const SplitTime s = split(t);
    const TimeText& text = time_text(s.seconds, utc);
    if (text.size < 2) {  // a text snprintf could not write
        if (quoted) out.write("\"\"");
        return;
    }
    // The whole buffer, a fixed size (a few vector moves), then the cursor moves past the text.
    char* at = out.room(sizeof text.text);
    std::size_t from = 0;
    std::size_t to = text.size;
    if (quoted) {
        std::memcpy(at, text.text, sizeof text.text);
    } else {
        std::memcpy(at, text.text + 1, sizeof text.text - 1);
        from = 1;
        --to;
    }
    if (text.millis_at >= from && text.millis_at + 3 <= to) {
        char* digits = at + (text.millis_at - from);
        digits[0] = static_cast<char>('0' + s.millis / 100);
        digits[1] = static_cast<char>('0' + s.millis / 10 % 10);
        digits[2] = static_cast<char>('0' + s.millis % 10);
    }
    out.advance(at + (to - from));
}

void JsonEncoder::append_rfc3339(std::string& out, std::chrono::system_clock::time_point t, bool utc) {
    detail::TextCursor cursor(out, 64);
    detail::write_time(cursor, t, utc, false);
}

namespace {

/// The record ids' state: `host-pid-` (escaped for JSON once) and the process-wide sequence.
/// A thread takes its ids from the sequence a block at a time, so logging threads do not
/// bounce the sequence's cache line between them; ids stay unique, not ordered across threads.
/// A forked child gets its own pid in the prefix, and its threads take fresh blocks.
struct RecordIds {
    static constexpr std::uint64_t block = 1024;

    RecordIds() {
        make_prefix();
        ::pthread_atfork(nullptr, nullptr, [] { instance().after_fork_in_child(); });
    }

    static RecordIds& instance() {
        static RecordIds ids;
        return ids;
    }

    void make_prefix() {
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "unknown");
        const std::string raw = std::string(host) + "-" + std::to_string(::getpid()) + "-";
        prefix.clear();
        detail::TextCursor cursor(prefix, raw.size() + 16);
        detail::write_escaped(cursor, raw);
    }

    // The child has one thread (the one that forked): nothing else reads these meanwhile.
    void after_fork_in_child() noexcept {
        try {
            make_prefix();
        } catch (...) {
            // No memory for the new prefix: the parent's stays, and the child's ids may then
            // repeat ones the parent writes.
        }
        generation.fetch_add(1, std::memory_order_relaxed);
    }

    std::uint64_t next() noexcept {
        thread_local std::uint64_t next_id = 0;
        thread_local std::uint64_t block_end = 0;
        thread_local std::uint64_t block_generation = 0;
        const std::uint64_t now = generation.load(std::memory_order_relaxed);
        if (next_id == block_end || block_generation != now) {
            next_id = sequence.fetch_add(block, std::memory_order_relaxed);
            block_end = next_id + block;
            block_generation = now;
        }
        return next_id++;
    }

    std::string prefix;  // escaped
    std::atomic<std::uint64_t> sequence{0};
    std::atomic<std::uint64_t> generation{0};
};

}  // namespace

void detail::write_record_id(TextCursor& out, bool quoted) {
    RecordIds& ids = RecordIds::instance();
    char* at = out.room(ids.prefix.size() + 24);
    if (quoted) *at++ = '"';
    std::memcpy(at, ids.prefix.data(), ids.prefix.size());
    at = std::to_chars(at + ids.prefix.size(), at + ids.prefix.size() + 20, ids.next()).ptr;
    if (quoted) *at++ = '"';
    out.advance(at);
}

void JsonEncoder::record_id() {
    before_value();
    detail::TextCursor cursor(out_, 64);
    detail::write_record_id(cursor, true);
}

std::string JsonEncoder::next_record_id() {
    std::string id;
    {
        detail::TextCursor cursor(id, 64);
        detail::write_record_id(cursor, false);
    }
    return id;
}

void JsonEncoder::open(char c) {
    before_value();
    out_.push_back(c);
    ++depth_;
    if (depth_ <= 64) has_element_ &= ~(std::uint64_t{1} << (depth_ - 1));
}

void JsonEncoder::key(std::string_view name) {
    before_value();
    detail::TextCursor cursor(out_, name.size() + 3);
    detail::write_quoted(cursor, name);
    cursor.put(':');
    after_key_ = true;
}

std::string JsonEncoder::encode_key(std::string_view name) {
    std::string out;
    JsonEncoder(out).key(name);
    return out;
}

std::string JsonEncoder::encode_string(std::string_view value) {
    std::string out;
    JsonEncoder(out).string(value);
    return out;
}

void JsonEncoder::string(std::string_view value) {
    before_value();
    detail::TextCursor cursor(out_, value.size() + 2);
    detail::write_quoted(cursor, value);
}

void JsonEncoder::number(std::int64_t value) {
    before_value();
    detail::TextCursor cursor(out_, 24);
    detail::write_integer(cursor, value);
}

void JsonEncoder::number(std::uint64_t value) {
    before_value();
    detail::TextCursor cursor(out_, 24);
    detail::write_integer(cursor, value);
}

void detail::write_double(detail::TextCursor& out, double value) {
    if (std::isnan(value)) return write_quoted(out, "NaN");
    if (std::isinf(value)) return write_quoted(out, value > 0 ? "Infinity" : "-Infinity");
    char* at = out.room(32);
    out.advance(std::to_chars(at, at + 32, value).ptr);
}

void JsonEncoder::number(double value) {
    before_value();
    detail::TextCursor cursor(out_, 32);
    detail::write_double(cursor, value);
}

void JsonEncoder::boolean(bool value) {
    before_value();
    out_.append(value ? "true" : "false");
}

void JsonEncoder::null() {
    before_value();
    out_.append("null");
}

void JsonEncoder::time(std::chrono::system_clock::time_point t, bool utc) {
    before_value();
    detail::TextCursor cursor(out_, 64);
    detail::write_time(cursor, t, utc, true);
}

}  // namespace kafka_log
