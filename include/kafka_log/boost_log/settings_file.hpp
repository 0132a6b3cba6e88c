// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief Checking and loading a Boost.Log settings file with errors that name the file, the
/// line, the section and the parameter.

#include <filesystem>
#include <istream>
#include <string>

#include "kafka_log/export.hpp"

namespace kafka_log {

/// \brief Checks the text of a Boost.Log settings file line by line, with the grammar of Boost.Log
/// 1.74's `parse_settings`, and refuses what that parser would refuse or silently drop.
///
/// Boost's parser keeps only the last value of a parameter given twice in a section (a section
/// header given twice is the same section), and its own errors say neither the file nor the
/// line ("Unexpected characters in the end of the line"). This check names `source:line`, the
/// section and the parameter, and says what to write instead:
///
/// - a value that is neither one word nor quoted (`Fallback=/tmp/x.log`, `Brokers=host:9092`):
///   unquoted, a value is its first character followed by letters, digits, `_`, `-`, `+` and
///   `.` only; anything else (`/`, `:`, `,`, `%`, a space, ...) needs the value in double
///   quotes. The message shows the quoted form (except for a `Producer.` property whose value
///   may be a secret: see ProducerConfig::is_printable);
/// - a parameter repeated in a section, with both lines;
/// - a quoted value without its closing quote or ending in a lone backslash (in quotes, `\` starts
///   an escape: `\"`, `\\`, `\n`, `\t`, ...; a backslash meant as itself is written `\\`);
/// - a parameter before any section, a parameter without `=` or without a value, a bad section
///   header or name, a bad parameter name.
///
/// Text that passes is parsed by `boost::log::parse_settings` to the same values.
///
/// \param text the settings text; read to its end.
/// \param source names the text in messages (a file name).
/// \throws boost::log::parse_error for a line Boost's parser would refuse, or
/// boost::log::invalid_value for a repeated parameter; the message starts with `source:line: `.
KAFKA_LOG_EXPORT void check_settings(std::istream& text, const std::string& source);

/// \brief check_settings() on a file, with the one addition init_from_settings_file() makes: a
/// parameter that takes a list of names (`Headers`) may give it unquoted, as words separated by
/// commas (`Headers=TraceID,Service`).
/// \throws as check_settings(); boost::log::invalid_value naming the file when it cannot be
/// read.
KAFKA_LOG_EXPORT void check_settings_file(const std::filesystem::path& path);

/// \brief Loads a Boost.Log settings file: check_settings_file(), then
/// `boost::log::init_from_stream` on its text (an unquoted list of names quoted for it). Call
/// register_boost_log_factory() first, as for `init_from_stream`.
///
/// \throws what check_settings_file() throws; what `init_from_stream` throws (a sink factory's
/// `invalid_value`, `missing_value` or `parse_error`), of the same type with the file's name put
/// in front of the message.
KAFKA_LOG_EXPORT void init_from_settings_file(const std::filesystem::path& path);

}  // namespace kafka_log
