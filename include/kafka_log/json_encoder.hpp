// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief JsonEncoder: appends zap-style JSON log records to a buffer; valid JSON for any input.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kafka_log/export.hpp"

namespace kafka_log {

/// \brief How log records are laid out as JSON (shared by the Boost.Log and glog adapters).
struct JsonOptions {
    std::string level_key = "level";     ///< Key of the severity name.
    std::string time_key = "logtime";    ///< Key of the record's time (RFC 3339, ms, offset).
    std::string message_key = "msg";     ///< Key of the message text.
    /// Key of a record id unique per process and across hosts (`host-pid-sequence`), so a
    /// consumer can drop duplicates (an Elasticsearch document id, say). Empty: no id.
    std::string record_id_key{};
    /// Names of severities 0, 1, 2, ... (Boost.Log's trivial::severity_level order). A user
    /// severity type maps through its numeric value; a value without a name is printed as a
    /// number.
    std::vector<std::string> level_names = {"trace", "debug", "info", "warning", "error", "fatal"};
    /// Attributes to render (empty: all of them, except those in `exclude`).
    std::vector<std::string> include{};
    /// Attributes never rendered.
    std::vector<std::string> exclude{};
    /// Name of the severity attribute (Boost.Log).
    std::string severity_attribute = "Severity";
    /// Name of the attribute holding the record's time (Boost.Log, e.g. from
    /// `add_common_attributes()`); when a record lacks it, the time of formatting is used.
    std::string time_attribute = "TimeStamp";
    /// Whether a `boost::posix_time::ptime` time attribute holds UTC (`utc_clock`) rather than
    /// local time (`local_clock`, what `add_common_attributes()` installs).
    bool time_attribute_is_utc = false;
    /// Write times in UTC (`+00:00`); false: local time with its UTC offset.
    bool utc = true;
};

/// \brief Appends JSON to a caller-owned std::string: objects, arrays, keys, values, with the
/// commas in between. Strings are escaped per RFC 8259 and invalid UTF-8 is replaced by U+FFFD,
/// so whatever bytes a record carries, the output is valid JSON on one line.
///
/// \code
///   std::string line;
///   kafka_log::JsonEncoder json(line);
///   json.begin_object();
///   json.key("level"); json.string("info");
///   json.key("Answer"); json.number(42);
///   json.end_object();            // {"level":"info","Answer":42}
/// \endcode
///
/// Thread safety: an encoder is used by one thread at a time; the static helpers are pure.
class KAFKA_LOG_EXPORT JsonEncoder {
public:
    explicit JsonEncoder(std::string& out) noexcept : out_(out) {}

    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }
    /// \brief An object key; the next call writes its value.
    void key(std::string_view name);
    void string(std::string_view value);
    void number(std::int64_t value);
    void number(std::uint64_t value);
    void number(int value) { number(static_cast<std::int64_t>(value)); }
    void number(unsigned value) { number(static_cast<std::uint64_t>(value)); }
    /// \brief Shortest representation that reads back exactly; NaN and infinities, which JSON
    /// cannot hold, become the strings "NaN", "Infinity", "-Infinity".
    void number(double value);
    void boolean(bool value);
    void null();
    /// \brief An RFC 3339 time with milliseconds and the UTC offset, as a string value.
    void time(std::chrono::system_clock::time_point t, bool utc = true);
    /// \brief The next record id (next_record_id()) as a string value, written in place.
    void record_id();

    /// \brief A key already encoded by encoded_key(): `"name":`. For keys known in advance
    /// (a formatter's fixed keys), so the hot path copies instead of escaping.
    void encoded_key(std::string_view encoded) {
        before_value();
        out_.append(encoded);
        after_key_ = true;
    }
    /// \brief A value already encoded as JSON (e.g. by encoded_string()).
    void encoded_value(std::string_view encoded) {
        before_value();
        out_.append(encoded);
    }
    /// \brief `"name":` with `name` escaped, for encoded_key().
    static std::string encode_key(std::string_view name);
    /// \brief `"value"` with `value` escaped, for encoded_value().
    static std::string encode_string(std::string_view value);

    /// \brief Appends `value` escaped (no quotes); invalid UTF-8 becomes U+FFFD.
    static void append_escaped(std::string& out, std::string_view value);
    /// \brief Appends `2026-11-24T23:10:46.518+00:00` (or the local time and offset).
    static void append_rfc3339(std::string& out, std::chrono::system_clock::time_point t, bool utc);
    /// \brief A process-wide unique record id: `host-pid-sequence`.
    static std::string next_record_id();

private:
    // Inline: called for every key and value.
    void before_value() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (depth_ > 0 && depth_ <= 64) {
            const std::uint64_t bit = std::uint64_t{1} << (depth_ - 1);
            if (has_element_ & bit) out_.push_back(',');
            has_element_ |= bit;
        }
    }
    void open(char c);
    void close(char c) {
        out_.push_back(c);
        if (depth_ > 0) --depth_;
    }

    std::string& out_;
    // One bit per nesting level: set once the container holds an element (a comma is due).
    std::uint64_t has_element_ = 0;
    unsigned depth_ = 0;
    bool after_key_ = false;
};

}  // namespace kafka_log
