// SPDX-License-Identifier: Apache-2.0
#include "format_parameter.hpp"

#include <algorithm>
#include <cctype>
#include <exception>

#include <boost/log/exceptions.hpp>
#include <boost/log/utility/setup/filter_parser.hpp>
#include <boost/log/utility/setup/formatter_parser.hpp>

#include "kafka_log/boost_log/json_formatter.hpp"

namespace kafka_log::detail {

namespace {

/// What a string's mistake most often is, for the parser's terse reason.
std::string hint(const std::string& parameter) {
    if (parameter == "Format") {
        return " (an attribute is written %Name% or %Name(arg=\"value\")%, every % opens or "
               "closes one; `json` selects the JSON formatter)";
    }
    return " (e.g. \"%Severity% >= info\")";
}

[[noreturn]] void rethrow_named(const std::string& parameter, const std::string& text,
                                const std::string& where) {
    std::string reason;
    try {
        throw;
    } catch (const std::exception& e) {
        reason = e.what();
    }
    throw boost::log::parse_error(
        where + ": parameter '" + parameter + "' = \"" + text + "\" is not a valid Boost.Log " +
        (parameter == "Format" ? "format" : "filter") + ": " + reason + hint(parameter));
}

}  // namespace

boost::log::formatter format_parameter(const std::string& format, const std::string& where) {
    std::string lowered = format;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lowered == "json") return json_formatter();
    try {
        return boost::log::parse_formatter(format);
    } catch (const boost::log::parse_error&) {
        rethrow_named("Format", format, where);
    }
}

boost::log::filter filter_parameter(const std::string& filter, const std::string& where) {
    try {
        return boost::log::parse_filter(filter);
    } catch (const boost::log::parse_error&) {
        rethrow_named("Filter", filter, where);
    }
}

}  // namespace kafka_log::detail
