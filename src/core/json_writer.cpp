// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/json_writer.hpp"

#include <algorithm>
#include <array>

#include "../detail/json_number.hpp"
#include "../detail/record_id.hpp"
#include "../detail/rfc3339_time.hpp"

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

/// Bytes that end a run of plain ASCII: control characters, '"', '\\' and every non-ASCII byte.
constexpr auto special_bytes = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 256; ++c) {
        table[static_cast<std::size_t>(c)] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
    }
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
    return (non_ascii | control | has_zero(word ^ ('"' * ones)) | has_zero(word ^ ('\\' * ones))) !=
           0;
}

}  // namespace

void JsonWriter::write_escaped(std::string_view value) {
    std::size_t plain_start = 0;
    std::size_t i = 0;
    const auto write = [this](std::string_view text) {
        char* at = room(text.size());
        if (!text.empty()) std::memcpy(at, text.data(), text.size());
        pos_ = at + text.size();
    };
    const auto flush_plain = [&] { write(value.substr(plain_start, i - plain_start)); };
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
            write(replacement);
            ++i;
            plain_start = i;
            continue;
        }
        flush_plain();
        switch (c) {
            case '"':
                write("\\\"");
                break;
            case '\\':
                write("\\\\");
                break;
            case '\n':
                write("\\n");
                break;
            case '\r':
                write("\\r");
                break;
            case '\t':
                write("\\t");
                break;
            case '\b':
                write("\\b");
                break;
            case '\f':
                write("\\f");
                break;
            default: {
                const char escaped[] = {
                    '\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xF]};
                write(std::string_view(escaped, sizeof escaped));
            }
        }
        ++i;
        plain_start = i;
    }
    flush_plain();
}

void JsonWriter::grow(std::size_t n) {
    const auto used = static_cast<std::size_t>(pos_ - out_.data());
    out_.resize(std::max(used + n, out_.size() * 2));
    pos_ = out_.data() + used;
    end_ = out_.data() + out_.size();
}

char* JsonWriter::double_text(char* at, double value) noexcept {
    static_assert(double_room >= detail::json_double_room);
    return detail::write_json_double(at, value);
}

char* JsonWriter::time_text(char* at, std::chrono::system_clock::time_point t, bool utc) noexcept {
    static_assert(time_room >= detail::rfc3339_room);
    return detail::write_rfc3339(at, t, utc, true);
}

void JsonWriter::record_id() {
    detail::RecordIds& ids = detail::RecordIds::instance();
    pos_ = ids.write(comma_for_value(ids.room()), true);
}

std::string JsonWriter::quote(std::string_view text) {
    std::string out;
    {
        JsonWriter json(out, text.size() + 2);
        json.string(text);
    }
    return out;
}

}  // namespace kafka_log
