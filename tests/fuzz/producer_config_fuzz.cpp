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

/// The values of the input's lines (after the first `=`, trimmed) that are long and distinctive
/// enough that finding one in a message can only mean it was echoed.
std::set<std::string> distinctive_values(std::string_view text) {
    std::set<std::string> values;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(start, end - start);
        if (const std::size_t eq = line.find('='); eq != std::string_view::npos) {
            std::string_view value = line.substr(eq + 1);
            while (!value.empty() && blank(value.front())) value.remove_prefix(1);
            while (!value.empty() && blank(value.back())) value.remove_suffix(1);
            // Letters and digits both, so that it cannot be a word of the message's own text
            // or a line number.
            const bool has_digit = std::any_of(value.begin(), value.end(),
                                               [](char c) { return c >= '0' && c <= '9'; });
            const bool has_letter = std::any_of(value.begin(), value.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            });
            const bool distinctive = value.size() >= 12 && has_digit && has_letter;
            if (distinctive) values.emplace(value);
        }
        start = end + 1;
    }
    return values;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    kafka_log::ProducerConfig config;
    try {
        config = kafka_log::ProducerConfig::from_string(text, source);
    } catch (const kafka_log::ConfigError& e) {
        const std::string_view what = e.what();
        CHECK(what.find(source) != std::string_view::npos);  // names the file
        // Never a value: neither the line's text after `=` nor a value of another line (a
        // key of 12 or more characters may be named, so values equal to a key are skipped).
        for (const std::string& value : distinctive_values(text)) {
            // A value that is also (part of) a key or the source's name may be named.
            if (value.find('=') != std::string::npos) continue;
            if (text.find(value + "=") != std::string_view::npos) continue;
            if (e.key().find(value) != std::string::npos) continue;
            if (source.find(value) != std::string_view::npos) continue;
            CHECK(what.find(value) == std::string_view::npos);
        }
        return 0;
    }

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
