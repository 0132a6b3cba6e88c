// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief json_formatter: Boost.Log records as zap-style JSON lines.

#include <optional>
#include <ostream>

#include <boost/log/attributes/attribute_name.hpp>
#include <boost/log/attributes/attribute_value.hpp>
#include <boost/log/attributes/attribute_value_set.hpp>
#include <boost/log/attributes/value_extraction.hpp>
#include <boost/log/expressions/formatter.hpp>
#include <boost/log/trivial.hpp>
#include <boost/type_index.hpp>

#include "kafka_log/export.hpp"
#include "kafka_log/json_options.hpp"

namespace kafka_log {

/// \brief Reads a record's severity value as a number (the index into
/// JsonOptions::level_names), or nothing when the value is not of the expected type. A plain
/// function pointer: it is called once per record.
using JsonSeverityReader = std::optional<long long> (*)(const boost::log::attribute_value&);

/// \brief Writes a value of a registered type through its operator<<; false when `value` is
/// not one. A plain function pointer: it is called for every value of its type.
using JsonStreamRenderer = bool (*)(const boost::log::attribute_value&, std::ostream&);

/// \brief A Boost.Log formatter writing each record as one JSON object:
/// `{"level":"info","logtime":"2026-11-24T23:10:46.518+00:00","msg":"...", <attributes>}`.
///
/// - `level` comes from the `Severity` attribute (`boost::log::trivial::severity_level`, or an
///   integer); see json_formatter_for() for a severity enum of your own.
/// - `logtime` comes from the `TimeStamp` attribute (`add_common_attributes()`), or the time
///   of formatting when a record has none; RFC 3339 with milliseconds and the UTC offset.
/// - `msg` is the record's message.
/// - Every other attribute follows, sorted by name, rendered by its type: strings, integers,
///   floating point, bool, `ptime` (as an RFC 3339 string), thread and process ids (strings),
///   named scopes (an array of scope names). Other types are written through their `operator<<`
///   once registered with register_json_stream_type(); an unregistered type is written as its
///   type name in angle brackets. An attribute whose name equals one of the keys above is
///   written as `_<name>`, and one that is such a key with underscores in front gets one more
///   (`_msg` is written as `__msg`), so that no line holds a key twice.
///
/// Any bytes give valid JSON on one line (escaped control characters, U+FFFD for invalid
/// UTF-8; two attribute names that differ only in invalid UTF-8 therefore share a key). Usable with
/// any sink: `sink->set_formatter(kafka_log::json_formatter())`.
///
/// Thread safety: the formatter may be called from any number of threads at once.
/// \throws std::invalid_argument naming the two options when two of the level, time, message
/// and record id keys are the same JSON key.
KAFKA_LOG_EXPORT boost::log::formatter json_formatter(JsonOptions options = {});

/// \brief json_formatter() reading the severity through `severity` (null: as json_formatter(),
/// `boost::log::trivial::severity_level` or an integer). json_formatter_for() makes the reader
/// for an enum of your own.
KAFKA_LOG_EXPORT boost::log::formatter json_formatter(JsonOptions options,
                                                      JsonSeverityReader severity);

/// \brief json_formatter() for a severity type of your own (an enum whose values index
/// `JsonOptions::level_names`).
template <typename SeverityT>
boost::log::formatter json_formatter_for(JsonOptions options) {
    return json_formatter(std::move(options),
                          [](const boost::log::attribute_value& value) -> std::optional<long long> {
                              if (auto v = value.extract<SeverityT>()) {
                                  return static_cast<long long>(*v);
                              }
                              return std::nullopt;
                          });
}

/// \brief Makes json_formatter() write attributes of type `type` with `renderer` (as a JSON
/// string); register_json_stream_type() makes the renderer from `operator<<`. Call at
/// start-up, before logging; a later call for the same type replaces the renderer.
KAFKA_LOG_EXPORT void register_json_stream_renderer(boost::typeindex::type_index type,
                                                    JsonStreamRenderer renderer);

/// \brief Makes json_formatter() write attributes of type `T` through `operator<<` (as a
/// JSON string). Call once, at start-up, before logging.
template <typename T>
void register_json_stream_type() {
    register_json_stream_renderer(boost::typeindex::type_id<T>(),
                                  [](const boost::log::attribute_value& value, std::ostream& os) {
                                      auto v = value.extract<T>();
                                      if (!v) return false;
                                      os << v.get();
                                      return true;
                                  });
}

}  // namespace kafka_log
