// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief The former name of JsonWriter, and JsonOptions: kept so that existing code compiles.

#include "kafka_log/json_options.hpp"
#include "kafka_log/json_writer.hpp"

namespace kafka_log {

/// \brief The former name of JsonWriter (kafka_log/json_writer.hpp), the one JSON writer.
///
/// The same type, so code written against JsonEncoder keeps compiling for the calls it shares
/// with JsonWriter (begin_/end_object, begin_/end_array, key, string, number, boolean, null,
/// time, record_id). Two things differ from the former JsonEncoder:
/// - the string holds exactly what was written once the outermost value is complete or the
///   writer is destroyed (see JsonWriter); in between it may end with spare bytes;
/// - pre-encoded pieces are made by JsonWriter::quote() and written by raw_key() /
///   raw_value() (formerly encode_key()/encode_string() and encoded_key()/encoded_value()).
/// New code should name JsonWriter.
using JsonEncoder = JsonWriter;

}  // namespace kafka_log
