// SPDX-License-Identifier: Apache-2.0
#pragma once

// A small, strict reader of Prometheus' text exposition format (0.0.4) for tests: every line
// is a `# HELP`, a `# TYPE` or a sample; HELP and TYPE come once per family, before its
// samples; label values are unescaped. Errors name the line.

#include <cctype>
#include <cstddef>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kafka_log::test {

struct PromSample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
    std::string text;  // the value as written
};

struct PromScrape {
    std::map<std::string, std::string> help;  // family -> help text
    std::map<std::string, std::string> type;  // family -> counter/gauge/...
    std::vector<PromSample> samples;

    /// The one sample of `name` whose labels include all of `labels`; throws unless exactly one.
    const PromSample& one(const std::string& name,
                          const std::map<std::string, std::string>& labels = {}) const {
        const PromSample* found = nullptr;
        for (const PromSample& s : samples) {
            if (s.name != name) continue;
            bool match = true;
            for (const auto& [k, v] : labels) {
                const auto at = s.labels.find(k);
                match = match && at != s.labels.end() && at->second == v;
            }
            if (!match) continue;
            if (found) throw std::runtime_error("two samples match " + name);
            found = &s;
        }
        if (!found) throw std::runtime_error("no sample matches " + name);
        return *found;
    }
};

inline bool prom_name_char(char c, bool first) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
           (!first && std::isdigit(static_cast<unsigned char>(c)));
}

inline PromScrape parse_prometheus(std::string_view text) {
    PromScrape out;
    std::set<std::string> seen_samples;  // name + labels: no duplicate series
    std::string current_family;
    std::size_t line_no = 0;
    if (!text.empty() && text.back() != '\n') throw std::runtime_error("no final newline");
    while (!text.empty()) {
        ++line_no;
        const std::size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text.remove_prefix(end + 1);
        const auto fail = [&](const std::string& why) {
            throw std::runtime_error("line " + std::to_string(line_no) + " '" + std::string(line) +
                                     "': " + why);
        };
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            const std::string_view rest = line.substr(7);
            const std::size_t space = rest.find(' ');
            if (space == std::string_view::npos || space == 0) fail("no metric name");
            const std::string family(rest.substr(0, space));
            const std::string body(rest.substr(space + 1));
            auto& table = line[2] == 'H' ? out.help : out.type;
            if (!table.emplace(family, body).second) fail("repeated for " + family);
            if (line[2] == 'T' && body != "counter" && body != "gauge" && body != "untyped" &&
                body != "summary" && body != "histogram") {
                fail("unknown type");
            }
            if (family != current_family) {
                for (const PromSample& s : out.samples) {
                    if (s.name == family) fail("HELP/TYPE after the family's samples");
                }
                current_family = family;
            }
            continue;
        }
        if (line.starts_with("#")) continue;  // a comment
        PromSample sample;
        std::size_t i = 0;
        while (i < line.size() && prom_name_char(line[i], i == 0)) ++i;
        if (i == 0) fail("no metric name");
        sample.name = std::string(line.substr(0, i));
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                const std::size_t start = i;
                while (i < line.size() && prom_name_char(line[i], i == start) && line[i] != ':')
                    ++i;
                if (i == start) fail("bad label name");
                const std::string name(line.substr(start, i - start));
                if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
                    fail("label without =\"");
                i += 2;
                std::string value;
                while (i < line.size() && line[i] != '"') {
                    if (line[i] == '\\') {
                        if (++i >= line.size()) fail("escape at the end");
                        if (line[i] == 'n') {
                            value += '\n';
                        } else if (line[i] == '\\' || line[i] == '"') {
                            value += line[i];
                        } else {
                            fail("bad escape");
                        }
                    } else {
                        value += line[i];
                    }
                    ++i;
                }
                if (i >= line.size()) fail("unterminated label value");
                ++i;  // closing quote
                if (!sample.labels.emplace(name, value).second) fail("label repeated");
                if (i < line.size() && line[i] == ',') ++i;
            }
            if (i >= line.size()) fail("unterminated label set");
            ++i;  // '}'
        }
        if (i >= line.size() || line[i] != ' ') fail("no space before the value");
        sample.text = std::string(line.substr(i + 1));
        if (sample.text.empty() || sample.text.find(' ') != std::string::npos)
            fail("bad value (timestamps are not expected)");
        std::size_t used = 0;
        try {
            sample.value = std::stod(sample.text, &used);
        } catch (...) {
            fail("value is not a number");
        }
        if (used != sample.text.size()) fail("value is not a number");
        std::string family = sample.name;
        if (!out.type.count(family)) fail("sample before its # TYPE");
        if (!out.help.count(family)) fail("sample before its # HELP");
        if (family != current_family) fail("sample outside its family's block");
        std::string key = sample.name;
        for (const auto& [k, v] : sample.labels) key += '\x1f' + k + '=' + v;
        if (!seen_samples.insert(key).second) fail("duplicate series");
        out.samples.push_back(std::move(sample));
    }
    return out;
}

}  // namespace kafka_log::test
