// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief JsonWriter: the one JSON writer of kafka_log, appending to a caller's std::string.

#include <charconv>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "kafka_log/export.hpp"

namespace kafka_log {

/// \brief Appends JSON to a caller-owned std::string: objects, arrays, keys and values, with
/// the commas in between. Strings are escaped per RFC 8259 and invalid UTF-8 is replaced by
/// U+FFFD, so whatever bytes a record carries, the output is valid JSON on one line.
///
/// \code
///   std::string line;
///   kafka_log::JsonWriter json(line);
///   json.begin_object();
///   json.key("level"); json.string("info");
///   json.key("Answer"); json.number(42);
///   json.end_object();            // line == {"level":"info","Answer":42}
/// \endcode
///
/// The writer is a cursor: it grows the string ahead of the writes and writes past a pointer,
/// so a line of many small pieces costs one bounds check per piece. The string therefore holds
/// exactly what was written only once the outermost object or array is closed, and once the
/// writer is destroyed; in between it may end with spare bytes. Bytes the string held before
/// stay in front.
///
/// Keys and values known in advance (a formatter's fixed keys, level names) can be encoded
/// once with quote() and then copied with raw_key() / raw_value().
///
/// Thread safety: a writer is used by one thread, like the string it writes; quote() is pure.
class KAFKA_LOG_EXPORT JsonWriter {
public:
    /// \param out the string appended to.
    /// \param expected bytes the caller expects to write (more is fine: the string grows).
    explicit JsonWriter(std::string& out, std::size_t expected = 64) : out_(out) {
        const std::size_t used = out.size();
        out.resize(used + expected);
        pos_ = out.data() + used;
        end_ = out.data() + out.size();
    }
    /// \brief Trims the string to what was written.
    ~JsonWriter() { sync(); }
    JsonWriter(const JsonWriter&) = delete;
    JsonWriter& operator=(const JsonWriter&) = delete;

    /// \brief `{`: the members follow as key()/raw_key() and a value each.
    void begin_object() { open('{'); }
    /// \brief `}`; closing the outermost container gives the string its exact size.
    void end_object() { close('}'); }
    /// \brief `[`: the elements follow as values.
    void begin_array() { open('['); }
    /// \brief `]`; closing the outermost container gives the string its exact size.
    void end_array() { close(']'); }

    /// \brief An object key, escaped; the next call writes its value.
    void key(std::string_view name) {
        char* at = comma_for_key(1);
        *at = '"';
        pos_ = at + 1;
        write_escaped(name);
        char* end = room(2);
        end[0] = '"';
        end[1] = ':';
        pos_ = end + 2;
    }
    /// \brief An object key already encoded by quote() (`"name"`, quotes included).
    [[gnu::always_inline]] void raw_key(std::string_view quoted_name) {
        char* at = comma_for_key(quoted_name.size() + 2);
        std::memcpy(at, quoted_name.data(), quoted_name.size());
        at += quoted_name.size();
        *at++ = ':';
        pos_ = at;
    }

    /// \brief A string value, escaped and quoted.
    [[gnu::always_inline]] void string(std::string_view value) {
        char* at = comma_for_value(2);
        *at = '"';
        pos_ = at + 1;
        write_escaped(value);
        put('"');
    }
    /// \brief An integer, of any integral type but bool.
    template <std::integral Int>
    requires(!std::same_as<Int, bool>) [[gnu::always_inline]] void number(Int value) {
        char* at = comma_for_value(24);
        if constexpr (std::is_signed_v<Int>) {
            pos_ = std::to_chars(at, at + 24, static_cast<std::int64_t>(value)).ptr;
        } else {
            pos_ = std::to_chars(at, at + 24, static_cast<std::uint64_t>(value)).ptr;
        }
    }
    /// \brief The shortest text that reads back exactly; NaN and the infinities, which JSON
    /// cannot hold, become the strings "NaN", "Infinity", "-Infinity".
    void number(double value) { pos_ = double_text(comma_for_value(double_room), value); }
    /// \brief `true` or `false`.
    void boolean(bool value) { raw_value(value ? std::string_view("true") : "false"); }
    /// \brief `null`.
    void null() { raw_value("null"); }
    /// \brief A value already encoded as JSON (by quote(), say), copied as is.
    [[gnu::always_inline]] void raw_value(std::string_view json) {
        char* at = comma_for_value(json.size());
        if (!json.empty()) std::memcpy(at, json.data(), json.size());
        pos_ = at + json.size();
    }

    /// \brief An RFC 3339 time as a string value: `"2026-11-24T23:10:46.518+00:00"`, with
    /// milliseconds; `utc` false: the local time and its UTC offset.
    void time(std::chrono::system_clock::time_point t, bool utc = true) {
        pos_ = time_text(comma_for_value(time_room), t, utc);
    }
    /// \brief The next record id of this process, `"host-pid-sequence"`, as a string value:
    /// unique per process and across hosts (a forked child names its own pid), so a consumer
    /// can drop duplicates. Allocation-free after a thread's first.
    void record_id();

    /// \brief `"text"`, escaped: a key for raw_key() or a string value for raw_value().
    static std::string quote(std::string_view text);

private:
    /// At least `n` writable bytes at the cursor.
    [[gnu::always_inline]] char* room(std::size_t n) {
        if (static_cast<std::size_t>(end_ - pos_) < n) grow(n);
        return pos_;
    }
    [[gnu::always_inline]] void put(char c) {
        *room(1) = c;
        ++pos_;
    }
    // A key writes the comma its member needs, and the value after it none: so a key clears
    // the flag of its container, and a value (or an array element) sets it.
    /// The comma a key needs, if any, then `n` writable bytes at the returned pointer.
    [[gnu::always_inline]] char* comma_for_key(std::size_t n) {
        char* at = room(n + 1);
        if (commas_ & 1) *at++ = ',';
        commas_ &= ~std::uint64_t{1};
        return at;
    }
    /// The comma a value needs, if any, then `n` writable bytes at the returned pointer.
    [[gnu::always_inline]] char* comma_for_value(std::size_t n) {
        char* at = room(n + 1);
        if (commas_ & 1) *at++ = ',';
        commas_ |= 1;
        return at;
    }
    [[gnu::always_inline]] void before_value() { pos_ = comma_for_value(0); }
    void open(char c) {
        before_value();
        put(c);
        commas_ <<= 1;
        ++depth_;
    }
    void close(char c) {
        put(c);
        commas_ >>= 1;
        if (depth_ > 0 && --depth_ == 0) {
            // The outermost value is complete: the string gets its exact size, and a next
            // value outside any container starts afresh (no comma, as before).
            sync();
            commas_ = 0;
        }
    }
    void sync() noexcept {
        const auto used = static_cast<std::size_t>(pos_ - out_.data());
        out_.resize(used);  // smaller: never throws, never moves the bytes
        pos_ = out_.data() + used;
        end_ = pos_;
    }

    /// `value` escaped per RFC 8259, without quotes; invalid UTF-8 becomes U+FFFD.
    void write_escaped(std::string_view value);
    [[gnu::noinline]] void grow(std::size_t n);

    // The texts of numbers and times, written at `at` (with room for the most they write);
    // each returns the end of its text.
    static constexpr std::size_t double_room = 32;
    static char* double_text(char* at, double value) noexcept;
    static constexpr std::size_t time_room = 64;
    static char* time_text(char* at, std::chrono::system_clock::time_point t, bool utc) noexcept;

    std::string& out_;
    char* pos_;
    char* end_;
    // One bit per open container, the innermost in bit 0: set when the next key or element
    // needs a comma first. Nesting deeper than 64 levels loses the outermost levels' bits.
    std::uint64_t commas_ = 0;
    unsigned depth_ = 0;  // open containers
};

}  // namespace kafka_log
