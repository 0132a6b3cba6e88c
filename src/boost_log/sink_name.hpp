// SPDX-License-Identifier: Apache-2.0
#pragma once

// SinkName: the `Name=` and `Level=` parameters of a settings file's Kafka sink. A named sink's
// writer is registered under its name (find_writer) and so is its runtime level (find_level):
// `Level=` or, without it, `trace` (everything passes until the level is raised).
//
// Thread safety: SinkName is used by the one thread creating its sink.

#include <memory>
#include <optional>
#include <string>

#include <boost/log/sinks/basic_sink_frontend.hpp>
#include <boost/log/utility/setup/settings.hpp>

#include "kafka_log/boost_log/atomic_level.hpp"
#include "kafka_log/kafka_writer.hpp"

namespace kafka_log {

class SinkName {
public:
    using ptree = boost::log::settings_section::property_tree_type;

    /// Reads `Name=`/`Level=` of `tree`. Throws Boost's invalid_value naming the parameter and
    /// `where` for a bad level, an empty name, or a name a live sink already has.
    SinkName(const ptree& tree, const std::string& where);

    /// Adds the level to the sink's filter (`Filter=`, parsed again here, and the level) and
    /// registers the writer and the level under the name, if any. Throws invalid_value naming
    /// `Name` when the name was taken meanwhile.
    void attach(boost::log::sinks::basic_sink_frontend& sink, const ptree& tree,
                const std::shared_ptr<KafkaWriter>& writer) const;

private:
    std::string where_;
    std::string name_;
    std::optional<AtomicLevel> level_;
};

}  // namespace kafka_log
