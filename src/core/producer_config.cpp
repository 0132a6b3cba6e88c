// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/producer_config.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace kafka_log {

namespace {

std::string_view trim(std::string_view s) noexcept {
    const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool contains_icase(std::string_view text, std::string_view word) noexcept {
    const auto it = std::search(text.begin(), text.end(), word.begin(), word.end(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
    return it != text.end();
}

/// Text of a bad line, safe to print: a line that mentions a secret is not echoed.
std::string printable_line(std::string_view line) {
    if (contains_icase(line, "password") || contains_icase(line, "secret") ||
        contains_icase(line, "ssl.key") || contains_icase(line, "oauthbearer")) {
        return "(not shown: it may contain a secret)";
    }
    return "'" + std::string(line) + "'";
}

}  // namespace

ProducerConfig::ProducerConfig(std::initializer_list<Property> properties) {
    for (const auto& [key, value] : properties) set(key, value);
}

ProducerConfig ProducerConfig::from_string(std::string_view text, std::string_view source) {
    ProducerConfig config;
    std::vector<int> first_line;  // parallel to config.properties_
    int line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const std::size_t end = text.find('\n');
        std::string_view raw = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
        const std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') continue;

        const std::string where = std::string(source) + ":" + std::to_string(line_number) + ": ";
        const std::size_t eq = line.find('=');
        if (eq == std::string_view::npos) {
            throw ConfigError(where + "expected key=value, got " + printable_line(line), {},
                              line_number, std::string(source));
        }
        const std::string key(trim(line.substr(0, eq)));
        const std::string value(trim(line.substr(eq + 1)));
        if (key.empty()) {
            throw ConfigError(where + "empty key before '=' in " + printable_line(line), {},
                              line_number, std::string(source));
        }
        const auto& props = config.properties_;
        const auto found = std::find_if(props.begin(), props.end(),
                                        [&](const Property& p) { return p.first == key; });
        if (found != props.end()) {
            const int previous = first_line[static_cast<std::size_t>(found - props.begin())];
            throw ConfigError(where + "key '" + key + "' repeated (first set on line " +
                                  std::to_string(previous) + ")",
                              key, line_number, std::string(source));
        }
        config.properties_.emplace_back(key, value);
        first_line.push_back(line_number);
    }
    return config;
}

ProducerConfig ProducerConfig::from_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError("cannot read producer config file '" + path.string() + "'", {}, 0,
                          path.string());
    }
    std::ostringstream text;
    text << in.rdbuf();
    return from_string(text.str(), path.string());
}

ProducerConfig& ProducerConfig::set(std::string key, std::string value) {
    for (auto& [k, v] : properties_) {
        if (k == key) {
            v = std::move(value);
            return *this;
        }
    }
    properties_.emplace_back(std::move(key), std::move(value));
    return *this;
}

ProducerConfig& ProducerConfig::merge(const ProducerConfig& other) {
    for (const auto& [key, value] : other.properties_) set(key, value);
    return *this;
}

std::optional<std::string> ProducerConfig::get(std::string_view key) const {
    for (const auto& [k, v] : properties_) {
        if (k == key) return v;
    }
    return std::nullopt;
}

bool ProducerConfig::is_secret(std::string_view key) noexcept {
    return contains_icase(key, "password") || contains_icase(key, "secret") ||
           key == "ssl.key.pem" || key == "sasl.oauthbearer.config";
}

std::string ProducerConfig::redacted() const {
    std::string out;
    for (const auto& [key, value] : properties_) {
        out += key;
        out += '=';
        out += is_secret(key) ? std::string("***") : value;
        out += '\n';
    }
    return out;
}

}  // namespace kafka_log
