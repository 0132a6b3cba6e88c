// SPDX-License-Identifier: Apache-2.0
#pragma once

// The pieces JSON lines are made of, written through a TextCursor: escaped strings, numbers
// and RFC 3339 times. JsonEncoder (public) and json_formatter (the hot path) both write
// with them, so there is one escaping routine and one time routine.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "kafka_log/export.hpp"

namespace kafka_log::detail {

/// \brief Appends to a std::string through a raw pointer: the string is grown ahead of the
/// writes (room()), bytes go straight past the cursor, and the destructor trims the string to
/// what was written. A line of many small pieces then costs one bounds check per piece and
/// no std::string bookkeeping.
///
/// While a cursor is alive the string holds unwritten bytes past the cursor; read it only
/// after the cursor is gone. Thread safety: one thread, like the string it writes.
class TextCursor {
public:
    /// `expected`: bytes the caller expects to write (more is fine: the string grows).
    TextCursor(std::string& out, std::size_t expected) : out_(out) {
        const std::size_t used = out.size();
        out.resize(used + expected);
        pos_ = out.data() + used;
        end_ = out.data() + out.size();
    }
    ~TextCursor() { out_.resize(static_cast<std::size_t>(pos_ - out_.data())); }
    TextCursor(const TextCursor&) = delete;
    TextCursor& operator=(const TextCursor&) = delete;

    // Forced inline: these are a few instructions each and run a dozen times a record; the
    // rare growth stays out of line.

    /// At least `n` writable bytes at the cursor; write them, then advance().
    [[gnu::always_inline]] char* room(std::size_t n) {
        if (static_cast<std::size_t>(end_ - pos_) < n) grow(n);
        return pos_;
    }
    [[gnu::always_inline]] void advance(char* to) noexcept { pos_ = to; }
    [[gnu::always_inline]] void put(char c) {
        *room(1) = c;
        ++pos_;
    }
    [[gnu::always_inline]] void write(std::string_view text) {
        char* at = room(text.size());
        if (!text.empty()) std::memcpy(at, text.data(), text.size());
        pos_ = at + text.size();
    }
    /// What was written so far (the string before the cursor).
    std::size_t size() const noexcept { return static_cast<std::size_t>(pos_ - out_.data()); }

private:
    [[gnu::noinline]] void grow(std::size_t n) {
        const std::size_t used = size();
        out_.resize(std::max(used + n, out_.size() * 2));
        pos_ = out_.data() + used;
        end_ = out_.data() + out_.size();
    }

    std::string& out_;
    char* pos_;
    char* end_;
};

/// `value` escaped per RFC 8259, without quotes; invalid UTF-8 becomes U+FFFD.
KAFKA_LOG_EXPORT void write_escaped(TextCursor& out, std::string_view value);

/// `"value"`, escaped.
[[gnu::always_inline]] inline void write_quoted(TextCursor& out, std::string_view value) {
    out.put('"');
    write_escaped(out, value);
    out.put('"');
}

/// `2026-11-24T23:10:46.518+00:00` (or the local time and its offset), with the quotes when
/// `quoted`. The calendar and offset are worked out once per second per thread.
KAFKA_LOG_EXPORT void write_time(TextCursor& out, std::chrono::system_clock::time_point t, bool utc, bool quoted);

/// The next record id, `host-pid-sequence` (JsonEncoder::next_record_id()), with the quotes
/// when `quoted`; unique per process and across hosts, allocation-free after a thread's first.
KAFKA_LOG_EXPORT void write_record_id(TextCursor& out, bool quoted);

template <typename Int>
void write_integer(TextCursor& out, Int value) {
    char* at = out.room(24);
    out.advance(std::to_chars(at, at + 24, value).ptr);
}

/// Shortest text that reads back exactly; NaN and the infinities as the strings "NaN",
/// "Infinity", "-Infinity" (JSON has no such numbers).
KAFKA_LOG_EXPORT void write_double(TextCursor& out, double value);

}  // namespace kafka_log::detail
