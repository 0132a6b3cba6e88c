// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief Sinks' runtime levels, found by the sink's name.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kafka_log/boost_log/atomic_level.hpp"
#include "kafka_log/export.hpp"
#include "kafka_log/kafka_writer.hpp"

namespace kafka_log {

/// \brief Makes `level` reachable as `name` for as long as `owner` (the sink's writer) lives.
///
/// A settings file's `Name=` does this for its sink (and registers the writer under the same
/// name, see writer_registry.hpp). The registry does not keep `owner` alive; once it is
/// destroyed the name is free again.
///
/// \throws std::invalid_argument when `name` is empty, `owner` is null, or a level is already
/// registered as `name` for a live owner (the message names it).
///
/// Thread safety: every function of this header may be called from any thread.
KAFKA_LOG_EXPORT void register_level(const std::string& name, const AtomicLevel& level,
                                     const std::shared_ptr<KafkaWriter>& owner);

/// \brief The level registered as `name` (a copy sharing its threshold: `set()` on it changes
/// the sink's level at once), or nothing when none is, or its owner is gone.
///
/// \code
///   if (auto level = kafka_log::find_level("audit")) level->set(boost::log::trivial::debug);
/// \endcode
KAFKA_LOG_EXPORT std::optional<AtomicLevel> find_level(std::string_view name);

}  // namespace kafka_log
