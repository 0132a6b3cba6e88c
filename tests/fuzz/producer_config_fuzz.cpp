// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: whatever text a properties file holds, ProducerConfig::from_string either
// throws a ConfigError that names its source and echoes no value, or returns properties that
// follow the documented grammar, survive being written out and read again, and whose secret
// values redacted() never prints.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "kafka_log/errors.hpp"
#include "kafka_log/producer_config.hpp"

namespace {

#define CHECK(condition)                    \
    do {                                    \
        if (!(condition)) __builtin_trap(); \
    } while (false)

constexpr std::string_view source = "fuzz.properties";

bool key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool blank(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/// True when the `number`th line (from 1) of `text` holds a `=`.
bool line_has_equals(std::string_view text, int number) {
    std::size_t start = 0;
    for (int i = 1; i < number; ++i) {
        start = text.find('\n', start);
        if (start == std::string_view::npos) return false;
        ++start;
    }
    const std::size_t end = text.find('\n', start);
    return text.substr(start, end == std::string_view::npos ? end : end - start).find('=') !=
           std::string_view::npos;
}

/// The input with every value (what follows a line's first `=`) and every line that has no `=`
/// replaced by a canary. What the parser refuses depends only on the keys and on where the `=`
/// are, so the canary text must fail (or pass) exactly as the input does, and a message that
/// holds a canary has echoed a value.
std::string with_canaries(std::string_view text) {
    std::string out;
    std::size_t start = 0;
    int n = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(start, end - start);
        std::size_t first = 0;
        while (first < line.size() && blank(line[first])) ++first;
        const std::size_t eq = line.find('=');
        if (first == line.size() || line[first] == '#') {
            out.append(line);  // blank or a comment: kept as it is
        } else if (eq != std::string_view::npos) {
            out.append(line.substr(0, eq + 1)).append("~@V").append(std::to_string(n++));
        } else {
            out.append("~@L").append(std::to_string(n++));
        }
        if (end < text.size()) out.push_back('\n');
        start = end + 1;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    kafka_log::ProducerConfig config;
    try {
        config = kafka_log::ProducerConfig::from_string(text, source);
    } catch (const kafka_log::ConfigError& e) {
        CHECK(std::string_view(e.what()).find(source) != std::string_view::npos);  // the file
        CHECK(e.source() == source);
        CHECK(e.line() >= 1);
        // Never a value nor the text of a line without `=`: the canary text fails the same way,
        // and its message holds no canary.
        try {
            static_cast<void>(kafka_log::ProducerConfig::from_string(with_canaries(text), source));
            CHECK(false);
        } catch (const kafka_log::ConfigError& c) {
            CHECK(c.line() == e.line());
            // The same key, where the failing line has a `=` (a line without one, canary or
            // not, may be named when it reads as a key).
            if (line_has_equals(text, e.line())) CHECK(c.key() == e.key());
            CHECK(std::string_view(c.what()).find("~@") == std::string_view::npos);
        }
        return 0;
    }
    // The canary text passes too.
    static_cast<void>(kafka_log::ProducerConfig::from_string(with_canaries(text), source));

    // The grammar: keys of letters, digits, '.', '_', '-', none repeated; values trimmed and on
    // one line.
    std::set<std::string> keys;
    for (const auto& [key, value] : config.properties()) {
        CHECK(!key.empty());
        CHECK(std::all_of(key.begin(), key.end(), key_char));
        CHECK(keys.insert(key).second);
        CHECK(value.find('\n') == std::string::npos);
        CHECK(value.empty() || (!blank(value.front()) && !blank(value.back())));
        CHECK(config.get(key) == value);
    }

    // Written out and read again: the same properties in the same order.
    std::string written;
    for (const auto& [key, value] : config.properties()) written += key + "=" + value + "\n";
    const kafka_log::ProducerConfig again =
        kafka_log::ProducerConfig::from_string(written, "written");
    CHECK(again.properties() == config.properties());

    // redacted(): one line per property; a secret's value never appears on its line.
    const std::string redacted = config.redacted();
    std::size_t line_start = 0;
    for (const auto& [key, value] : config.properties()) {
        const std::size_t end = redacted.find('\n', line_start);
        const std::string_view line = std::string_view(redacted).substr(
            line_start, end == std::string::npos ? std::string::npos : end - line_start);
        CHECK(line.substr(0, key.size() + 1) == key + "=");
        if (kafka_log::ProducerConfig::is_secret(key)) {
            CHECK(line.substr(key.size() + 1) == "***");
        } else {
            CHECK(line.substr(key.size() + 1) == value);
        }
        if (end == std::string::npos) break;
        line_start = end + 1;
    }
    return 0;
}
