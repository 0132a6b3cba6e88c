// SPDX-License-Identifier: Apache-2.0
#pragma once

// Keeps configuration values out of error messages and stderr lines. librdkafka's reasons may
// quote the value they reject, whole ("Invalid value for configuration property "x": <value>"),
// one token of it ("Invalid value "<token>" for configuration property "x""), the rest of it
// from where parsing failed ("Unrecognized sasl.oauthbearer.config beginning at: <rest>", on
// the error callback), or as a number ("value <n> is outside allowed range"). Private to core.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka_log/producer_config.hpp"

namespace kafka_log::detail {

inline constexpr std::string_view masked = "***";

/// `s` without leading and trailing whitespace.
inline std::string_view trim_spaces(std::string_view s) noexcept {
    const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

/// Replaces every occurrence of `what` (not empty) in `text` with ***.
inline void mask_all(std::string& text, std::string_view what) {
    if (what.empty()) return;
    for (std::size_t pos = text.find(what); pos != std::string::npos;
         pos = text.find(what, pos + masked.size())) {
        text.replace(pos, what.size(), masked);
    }
}

/// Pieces of a value at least this long are masked wherever they appear.
inline constexpr std::size_t min_piece = 6;

/// Replaces every run of at least min_piece characters of `text` that also occurs in `value`
/// with ***.
inline void mask_pieces(std::string& text, std::string_view value) {
    if (value.size() < min_piece || text.size() < min_piece) return;
    std::string out;
    std::size_t i = 0;
    bool masked_any = false;
    while (i < text.size()) {
        std::size_t length = 0;
        const std::string_view rest = std::string_view(text).substr(i);
        if (rest.size() >= min_piece &&
            value.find(rest.substr(0, min_piece)) != std::string_view::npos) {
            length = min_piece;
            while (length < rest.size() &&
                   value.find(rest.substr(0, length + 1)) != std::string_view::npos) {
                ++length;
            }
        }
        if (length > 0) {
            out += masked;
            i += length;
            masked_any = true;
        } else {
            out += text[i++];
        }
    }
    if (masked_any) text = std::move(out);
}

/// `text` with `value` masked: the value itself (also trimmed, as librdkafka left-trims
/// strings), every double-quoted piece of it, every piece of it at least min_piece long, and
/// the number of "value N is outside allowed range". Over-masks rather than under-masks: a
/// short value also hides its other occurrences.
inline std::string scrub_value(std::string text, std::string_view value) {
    const std::string_view trimmed = trim_spaces(value);
    if (trimmed.empty()) return text;
    mask_all(text, value);
    mask_all(text, trimmed);
    mask_pieces(text, value);

    // "...": quoted pieces of the value (one token of a comma-separated flags value).
    for (std::size_t open = text.find('"'); open != std::string::npos;) {
        const std::size_t close = text.find('"', open + 1);
        if (close == std::string::npos) break;
        const std::string_view inner(text.data() + open + 1, close - open - 1);
        if (!inner.empty() && inner != masked && value.find(inner) != std::string_view::npos) {
            text.replace(open + 1, inner.size(), masked);
            open = text.find('"', open + 1 + masked.size() + 1);
        } else {
            open = text.find('"', close + 1);
        }
    }

    // "value <n> is outside allowed range": the value as librdkafka parsed it.
    constexpr std::string_view range = " is outside allowed range";
    constexpr std::string_view before = "value ";
    for (std::size_t at = text.find(range); at != std::string::npos;
         at = text.find(range, at + range.size())) {
        std::size_t begin = at;
        while (begin > 0 && text[begin - 1] != ' ') --begin;
        if (begin < at && begin >= before.size() &&
            text.compare(begin - before.size(), before.size(), before) == 0) {
            text.replace(begin, at - begin, masked);
            at = begin + masked.size();
        }
    }
    return text;
}

/// librdkafka's `reason` for rejecting `key`=`value`, with the value masked unless `key` is
/// on ProducerConfig's allow-list.
inline std::string scrub_reason(std::string reason, std::string_view key, std::string_view value) {
    return ProducerConfig::is_printable(key) ? reason : scrub_value(std::move(reason), value);
}

/// `text` with the value of every property of `config` not on the allow-list masked; longer
/// values first, so that a value containing another is masked whole. Values shorter than
/// `min_value` (after trimming) are left alone: for lines that are not about configuration
/// (librdkafka's log and error lines), masking `1` or `true` everywhere would hide the line.
inline std::string scrub_config(std::string text, const ProducerConfig& config,
                                std::size_t min_value = 1) {
    std::vector<std::string_view> values;
    for (const auto& [key, value] : config.properties()) {
        if (!ProducerConfig::is_printable(key) && trim_spaces(value).size() >= min_value) {
            values.emplace_back(value);
        }
    }
    std::sort(values.begin(), values.end(),
              [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
    for (const std::string_view value : values) text = scrub_value(std::move(text), value);
    return text;
}

/// Values shorter than this are not looked for in librdkafka's log and error lines.
inline constexpr std::size_t min_value_in_lines = 4;

}  // namespace kafka_log::detail
