// SPDX-License-Identifier: Apache-2.0
// kafka_log_spool's output formatting: JSON strings, base64, RFC 3339 times.
#include "spool_tool_output.hpp"

#include <ctime>

namespace kafka_log::spool_tool {

namespace {

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
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
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
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((s.size() + 2) / 3 * 4);
    std::size_t i = 0;
    const auto at = [&](std::size_t k) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(s[k]));
    };
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

}  // namespace

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
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(millis));
    return text;
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
    line += ",\"headers\":[";
    for (std::size_t i = 0; i < record.headers.size(); ++i) {
        line += i == 0 ? "{" : ",{";
        append_bytes_field(line, "name", record.headers[i].first);
        line += ',';
        append_bytes_field(line, "value", record.headers[i].second);
        line += '}';
    }
    line += "],";
    append_bytes_field(line, "payload", record.payload);
    line += "}\n";
    return line;
}

}  // namespace kafka_log::spool_tool
