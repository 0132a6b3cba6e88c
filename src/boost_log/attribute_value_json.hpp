// SPDX-License-Identifier: Apache-2.0
#pragma once

// One Boost.Log attribute value as a JSON value, or as the text of a Kafka header.

#include <string>

#include <boost/log/attributes/attribute_value.hpp>

#include "kafka_log/json_options.hpp"
#include "kafka_log/json_writer.hpp"
#include "value_dispatch.hpp"

namespace kafka_log::detail {

/// Writes `value` as one JSON value: a type of KnownTypes natively (strings, numbers, bool,
/// times as RFC 3339 strings, severities by name, named scopes as an array, thread and process
/// ids as strings), a registered type through its operator<< (as a string), any other as its
/// type name in angle brackets. `captured` is the record's dispatcher, reused.
void write_attribute_value(JsonWriter& out, const JsonOptions& options,
                           const boost::log::attribute_value& value, CaptureDispatcher& captured);

/// Appends `value` to `out` as write_attribute_value renders it, without JSON's quoting: a
/// string is its own bytes (not escaped), a time, severity or id is the JSON string's text, a
/// number or bool its JSON text, a named scope list a JSON array. What a header value holds.
void write_attribute_text(std::string& out, const JsonOptions& options,
                          const boost::log::attribute_value& value, CaptureDispatcher& captured);

}  // namespace kafka_log::detail
