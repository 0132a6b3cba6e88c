// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief Writers reachable by a name: for their stats (a `/metrics` endpoint) and, with the
/// Boost.Log adapter, their sink's runtime level.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kafka_log/export.hpp"
#include "kafka_log/kafka_writer.hpp"
#include "kafka_log/prometheus.hpp"

namespace kafka_log {

/// \brief A registered writer and its name.
struct NamedWriter {
    std::string name;
    std::shared_ptr<KafkaWriter> writer;
};

/// \brief Makes `writer` reachable as `name` (a settings file's `Name=` does this for its sink).
///
/// The registry holds the writer weakly: it does not keep it alive, and once the writer is
/// destroyed (its sink removed) the name is free again.
///
/// \throws std::invalid_argument when `name` is empty, `writer` is null, or a live writer is
/// already registered as `name` (the message names it).
///
/// Thread safety: every function of this header may be called from any thread.
KAFKA_LOG_EXPORT void register_writer(const std::string& name,
                                      const std::shared_ptr<KafkaWriter>& writer);

/// \brief Forgets `name`. \return true when a live writer was registered as `name`.
KAFKA_LOG_EXPORT bool unregister_writer(std::string_view name);

/// \brief The live writer registered as `name`, or null.
KAFKA_LOG_EXPORT std::shared_ptr<KafkaWriter> find_writer(std::string_view name);

/// \brief Every live registered writer, by name.
KAFKA_LOG_EXPORT std::vector<NamedWriter> registered_writers();

/// \brief `{name, stats()}` of every live registered writer, by name: what
/// `prometheus_text(registered_writer_metrics())` renders for a `/metrics` endpoint.
KAFKA_LOG_EXPORT std::vector<WriterMetrics> registered_writer_metrics();

}  // namespace kafka_log
