// SPDX-License-Identifier: Apache-2.0
#include "client_statistics.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace kafka_log::detail {

namespace {

/// Where a value's number goes, if anywhere.
enum class Slot { none, queue_records, queue_bytes, rtt_avg, rtt_p99 };

/// What the object being read is, so its fields can be recognised.
enum class Place { other, top, brokers, broker, rtt };

class Reader {
public:
    explicit Reader(std::string_view text) noexcept : text_(text) {}

    bool document(ParsedStatistics& out) noexcept {
        out_ = &out;
        skip_space();
        if (!at('{')) return false;
        if (!value(Place::top, Slot::none, 0)) return false;
        skip_space();
        return pos_ == text_.size();
    }

private:
    bool at(char c) const noexcept { return pos_ < text_.size() && text_[pos_] == c; }

    void skip_space() noexcept {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                       text_[pos_] == '\n' || text_[pos_] == '\r')) {
            ++pos_;
        }
    }

    bool literal(std::string_view word) noexcept {
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    /// A string; `raw` receives its text between the quotes (escapes left as they are).
    bool string(std::string_view& raw) noexcept {
        if (!at('"')) return false;
        const std::size_t start = ++pos_;
        while (pos_ < text_.size()) {
            const auto c = static_cast<unsigned char>(text_[pos_]);
            if (c == '"') {
                raw = text_.substr(start, pos_ - start);
                ++pos_;
                return true;
            }
            if (c < 0x20) return false;
            if (c == '\\') {
                if (++pos_ >= text_.size()) return false;
                const char e = text_[pos_];
                if (e == 'u') {
                    for (int i = 0; i < 4; ++i) {
                        if (++pos_ >= text_.size() ||
                            std::isxdigit(static_cast<unsigned char>(text_[pos_])) == 0) {
                            return false;
                        }
                    }
                } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                    return false;
                }
            }
            ++pos_;
        }
        return false;  // unterminated
    }

    bool digits() noexcept {
        const std::size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
        return pos_ > start;
    }

    /// A number in JSON's grammar; stored in `slot` as an unsigned integer.
    bool number(Slot slot) noexcept {
        const std::size_t start = pos_;
        if (at('-')) ++pos_;
        if (at('0')) {
            ++pos_;
        } else if (!digits()) {
            return false;
        }
        if (at('.')) {
            ++pos_;
            if (!digits()) return false;
        }
        if (at('e') || at('E')) {
            ++pos_;
            if (at('+') || at('-')) ++pos_;
            if (!digits()) return false;
        }
        if (slot == Slot::none) return true;
        const char* first = text_.data() + start;
        const char* last = text_.data() + pos_;
        std::uint64_t whole = 0;
        const auto [int_end, int_ec] = std::from_chars(first, last, whole);
        if (int_end == last && int_ec == std::errc()) {  // a plain integer: exact
            store(slot, whole);
            return true;
        }
        if (int_ec == std::errc::result_out_of_range && std::find(first, last, '.') == last &&
            std::find_if(first, last, [](char c) { return c == 'e' || c == 'E'; }) == last) {
            store(slot, std::numeric_limits<std::uint64_t>::max());
            return true;
        }
        double d = 0;
        const auto [end, ec] = std::from_chars(first, last, d);
        std::uint64_t n = 0;
        if (ec == std::errc::result_out_of_range) {
            n = *first == '-' ? 0 : std::numeric_limits<std::uint64_t>::max();
        } else if (ec == std::errc() && std::isfinite(d) && d > 0) {
            n = d >= 18446744073709551615.0 ? std::numeric_limits<std::uint64_t>::max()
                                            : static_cast<std::uint64_t>(d);
        }
        store(slot, n);
        return true;
    }

    void store(Slot slot, std::uint64_t n) noexcept {
        switch (slot) {
            case Slot::queue_records:
                out_->queue_records = n;
                break;
            case Slot::queue_bytes:
                out_->queue_bytes = n;
                break;
            case Slot::rtt_avg:
                out_->broker_rtt_avg_us = std::max(out_->broker_rtt_avg_us, n);
                break;
            case Slot::rtt_p99:
                out_->broker_rtt_p99_us = std::max(out_->broker_rtt_p99_us, n);
                break;
            case Slot::none:
                break;
        }
    }

    /// What a member named `key` of an object at `place` is.
    static void classify(Place place, std::string_view key, Place& child, Slot& slot) noexcept {
        child = Place::other;
        slot = Slot::none;
        switch (place) {
            case Place::top:
                if (key == "msg_cnt") slot = Slot::queue_records;
                if (key == "msg_size") slot = Slot::queue_bytes;
                if (key == "brokers") child = Place::brokers;
                break;
            case Place::brokers:
                child = Place::broker;  // every member is one broker
                break;
            case Place::broker:
                if (key == "rtt") child = Place::rtt;
                break;
            case Place::rtt:
                if (key == "avg") slot = Slot::rtt_avg;
                if (key == "p99") slot = Slot::rtt_p99;
                break;
            case Place::other:
                break;
        }
    }

    bool object(Place place, int depth) noexcept {
        ++pos_;  // '{'
        skip_space();
        if (at('}')) {
            ++pos_;
            return true;
        }
        while (true) {
            std::string_view key;
            skip_space();
            if (!string(key)) return false;
            skip_space();
            if (!at(':')) return false;
            ++pos_;
            Place child = Place::other;
            Slot slot = Slot::none;
            classify(place, key, child, slot);
            if (!value(child, slot, depth + 1)) return false;
            skip_space();
            if (at('}')) {
                ++pos_;
                return true;
            }
            if (!at(',')) return false;
            ++pos_;
        }
    }

    bool array(int depth) noexcept {
        ++pos_;  // '['
        skip_space();
        if (at(']')) {
            ++pos_;
            return true;
        }
        while (true) {
            if (!value(Place::other, Slot::none, depth + 1)) return false;
            skip_space();
            if (at(']')) {
                ++pos_;
                return true;
            }
            if (!at(',')) return false;
            ++pos_;
        }
    }

    bool value(Place place, Slot slot, int depth) noexcept {
        if (depth > statistics_max_depth) return false;
        skip_space();
        if (pos_ >= text_.size()) return false;
        switch (text_[pos_]) {
            case '{':
                return object(place, depth);
            case '[':
                return array(depth);
            case '"': {
                std::string_view ignored;
                return string(ignored);
            }
            case 't':
                return literal("true");
            case 'f':
                return literal("false");
            case 'n':
                return literal("null");
            default:
                return number(slot);
        }
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    ParsedStatistics* out_ = nullptr;
};

}  // namespace

std::optional<ParsedStatistics> parse_client_statistics(std::string_view json) noexcept {
    ParsedStatistics out;
    Reader reader(json);
    if (!reader.document(out)) return std::nullopt;
    return out;
}

}  // namespace kafka_log::detail
