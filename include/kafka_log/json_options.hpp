// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief JsonOptions: how the adapters lay log records out as JSON lines.

#include <string>
#include <vector>

namespace kafka_log {

/// \brief How log records are laid out as JSON (shared by the Boost.Log and glog adapters).
struct JsonOptions {
    std::string level_key = "level";   ///< Key of the severity name.
    std::string time_key = "logtime";  ///< Key of the record's time (RFC 3339, ms, offset).
    std::string message_key = "msg";   ///< Key of the message text.
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

}  // namespace kafka_log
