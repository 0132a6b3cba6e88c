// SPDX-License-Identifier: Apache-2.0
#pragma once

// The settings factory's Format and Filter parameters: Boost.Log's own parsers, with a parse
// error turned into one that names the parameter, the sink section and what is wrong.

#include <string>

#include <boost/log/core/record_view.hpp>
#include <boost/log/expressions/filter.hpp>
#include <boost/log/expressions/formatter.hpp>

namespace kafka_log::detail {

/// `Format=` of the section `where` describes: `json` (any case) is json_formatter(), anything
/// else a Boost.Log format string.
/// \throws boost::log::parse_error naming `where`, the parameter, the string and Boost's reason.
boost::log::formatter format_parameter(const std::string& format, const std::string& where);

/// `Filter=` of the section `where` describes: a Boost.Log filter string.
/// \throws boost::log::parse_error naming `where`, the parameter, the string and Boost's reason.
boost::log::filter filter_parameter(const std::string& filter, const std::string& where);

}  // namespace kafka_log::detail
