// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief prometheus_text: writers' stats in Prometheus' text exposition format (0.0.4).

#include <span>
#include <string>
#include <vector>

#include "kafka_log/export.hpp"
#include "kafka_log/kafka_writer.hpp"

namespace kafka_log {

/// \brief One Prometheus label: a name (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`) and
/// a value (any bytes; escaped as the format requires).
struct PrometheusLabel {
    std::string name;
    std::string value;
};

/// \brief One writer as prometheus_text renders it.
struct WriterMetrics {
    /// The value of the `writer` label of every sample of this writer.
    std::string name;
    /// Its stats (`KafkaWriter::stats()`).
    WriterStats stats;
    /// Labels of this writer's samples only (say `topic`), after `writer`.
    std::vector<PrometheusLabel> labels;
};

/// \brief Options of prometheus_text.
struct PrometheusOptions {
    /// Every metric's name starts with this and `_` (empty: no prefix). `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    std::string prefix = "kafka_log";
    /// Constant labels on every sample (say `service`, `instance`), after the writer's.
    std::vector<PrometheusLabel> labels;
};

/// \brief Renders `writers` in the Prometheus text exposition format, version 0.0.4 (serve it
/// with `Content-Type: text/plain; version=0.0.4`).
///
/// Each metric family comes once, with its `# HELP` and `# TYPE` lines, followed by one
/// sample per writer (the `records_fallback_total` family: one per writer and `reason`).
/// Counters end in `_total`; the round trips are in seconds. The metrics, their meaning and
/// the identity among them are listed in docs/metrics.md; in short, for each writer:
///
/// \code
///   kafka_log_records_submitted_total == kafka_log_records_delivered_total
///       + sum by (writer) (kafka_log_records_fallback_total)
///       + kafka_log_records_lost_total + kafka_log_records_in_flight
/// \endcode
///
/// A sample's labels, in order: `writer="<name>"`, the writer's own labels, the options'
/// constant labels, then `reason` where the family has it. Values are escaped (`\\`, `\"`,
/// `\n`).
///
/// \code
///   auto text = kafka_log::prometheus_text(
///       std::vector<kafka_log::WriterMetrics>{{"app", writer->stats(), {}}},
///       {.labels = {{"service", "billing"}}});
/// \endcode
///
/// \throws std::invalid_argument naming the label (or the prefix) when a label name is not
/// valid, is `writer` or `reason` (set by the function), or appears twice on one writer's
/// samples; and naming the writer when two writers have the same name and labels (their
/// samples would collide).
///
/// Thread safety: a pure function of its arguments.
KAFKA_LOG_EXPORT std::string prometheus_text(std::span<const WriterMetrics> writers,
                                             const PrometheusOptions& options = {});

}  // namespace kafka_log
