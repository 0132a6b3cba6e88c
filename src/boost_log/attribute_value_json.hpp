// SPDX-License-Identifier: Apache-2.0
#pragma once

// One Boost.Log attribute value as a JSON value.

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

}  // namespace kafka_log::detail
