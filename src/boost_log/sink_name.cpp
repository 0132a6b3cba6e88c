// SPDX-License-Identifier: Apache-2.0
#include "sink_name.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <boost/log/exceptions.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/setup/filter_parser.hpp>

#include "kafka_log/boost_log/level_registry.hpp"
#include "kafka_log/writer_registry.hpp"

namespace kafka_log {

namespace {

using boost::log::trivial::severity_level;

constexpr std::array<std::pair<std::string_view, severity_level>, 6> level_names{{
    {"trace", severity_level::trace},
    {"debug", severity_level::debug},
    {"info", severity_level::info},
    {"warning", severity_level::warning},
    {"error", severity_level::error},
    {"fatal", severity_level::fatal},
}};

std::optional<std::string> value_of(const SinkName::ptree& tree, const char* key) {
    if (auto child = tree.get_child_optional(key)) return child->data();
    return std::nullopt;
}

severity_level parse_level(const std::string& text, const std::string& where) {
    std::string lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& [name, level] : level_names) {
        if (lower == name) return level;
    }
    throw boost::log::invalid_value(
        where +
        ": parameter 'Level' must be one of trace, debug, info, warning, error, fatal; "
        "got '" +
        text + "'");
}

}  // namespace

SinkName::SinkName(const ptree& tree, const std::string& where) : where_(where) {
    const auto level = value_of(tree, "Level");
    const auto name = value_of(tree, "Name");
    if (level) level_.emplace(parse_level(*level, where));
    if (!name) return;
    if (name->empty()) throw boost::log::invalid_value(where + ": parameter 'Name' is empty");
    if (find_writer(*name)) {
        throw boost::log::invalid_value(where + ": parameter 'Name': a sink named '" + *name +
                                        "' already exists (names must be unique)");
    }
    name_ = *name;
    if (!level_) level_.emplace(severity_level::trace);  // findable, passes all until raised
}

void SinkName::attach(boost::log::sinks::basic_sink_frontend& sink, const ptree& tree,
                      const std::shared_ptr<KafkaWriter>& writer) const {
    if (level_) {
        // The frontend has one filter and no getter: `Filter=` (already parsed once by the
        // factory, so valid) and the level, combined.
        boost::log::filter configured;  // passes everything
        if (const auto text = value_of(tree, "Filter")) {
            configured = boost::log::parse_filter(*text);
        }
        sink.set_filter(
            [configured, level = level_->filter()](const boost::log::attribute_value_set& v) {
                return configured(v) && level(v);
            });
    }
    if (name_.empty()) return;
    const auto taken = [&] {
        return boost::log::invalid_value(where_ + ": parameter 'Name': a sink named '" + name_ +
                                         "' already exists (names must be unique)");
    };
    try {
        register_writer(name_, writer);
    } catch (const std::invalid_argument&) {
        throw taken();
    }
    try {
        register_level(name_, *level_, writer);
    } catch (const std::invalid_argument&) {
        unregister_writer(name_);  // ours, registered just above
        throw taken();
    }
}

}  // namespace kafka_log
