// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/prometheus.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string_view>

namespace kafka_log {

namespace {

enum class Type { counter, gauge };

/// How a family reads its value from a writer's stats.
enum class Unit { count, flag, seconds_from_us };

struct Family {
    std::string_view name;  // after the prefix
    Type type;
    std::string_view help;
    std::uint64_t (*value)(const WriterStats&);
    Unit unit = Unit::count;
};

// clang-format off
constexpr Family families[] = {
    {"records_submitted_total", Type::counter, "Records handed to the writer.",
     [](const WriterStats& s) { return s.submitted; }},
    {"records_delivered_total", Type::counter, "Records confirmed on Kafka.",
     [](const WriterStats& s) { return s.delivered; }},
    {"records_fallback_total", Type::counter,
     "Records the writer put in its fallback (the spool), by reason.", nullptr},
    {"records_lost_total", Type::counter,
     "Records the fallback could not keep either (written to stderr).",
     [](const WriterStats& s) { return s.lost; }},
    {"records_in_flight", Type::gauge, "Records accepted by the producer, not yet reported.",
     [](const WriterStats& s) { return s.in_flight; }},
    {"records_possibly_persisted_total", Type::counter,
     "Failed records that may be on Kafka as well (a subset of fallback and lost).",
     [](const WriterStats& s) { return s.possibly_persisted; }},
    {"breaker_open", Type::gauge,
     "1 while the breaker sends new records to the fallback (cluster unreachable).",
     [](const WriterStats& s) { return std::uint64_t{s.breaker_open}; }, Unit::flag},
    {"spool_records", Type::gauge, "Records held in the spool now, waiting for replay.",
     [](const WriterStats& s) { return s.spooled; }},
    {"spool_bytes", Type::gauge, "Bytes the spool's segment files take on disk now.",
     [](const WriterStats& s) { return s.spool_bytes; }},
    {"spool_replayed_total", Type::counter,
     "Spooled records sent back to Kafka and confirmed.",
     [](const WriterStats& s) { return s.replayed; }},
    {"spool_replayed_possibly_duplicate_total", Type::counter,
     "Of the replayed records: those sent flagged possibly-duplicate.",
     [](const WriterStats& s) { return s.replayed_possibly_duplicate; }},
    {"spool_replay_failures_total", Type::counter,
     "Replay sends refused or failed (the record stays spooled).",
     [](const WriterStats& s) { return s.replay_failures; }},
    {"spool_journal_open_records", Type::gauge,
     "Journaled records handed to the producer and not settled yet.",
     [](const WriterStats& s) { return s.journal_open; }},
    {"producer_queue_records", Type::gauge,
     "Records in librdkafka's queue at its last statistics report (msg_cnt).",
     [](const WriterStats& s) { return s.client.queue_records; }},
    {"producer_queue_bytes", Type::gauge,
     "Bytes of the records in librdkafka's queue at its last statistics report (msg_size).",
     [](const WriterStats& s) { return s.client.queue_bytes; }},
    {"broker_rtt_avg_seconds", Type::gauge,
     "Largest over the brokers of the average request round trip in the last statistics "
     "interval.",
     [](const WriterStats& s) { return s.client.broker_rtt_avg_us; }, Unit::seconds_from_us},
    {"broker_rtt_p99_seconds", Type::gauge,
     "Largest over the brokers of the 99th percentile request round trip in the last "
     "statistics interval.",
     [](const WriterStats& s) { return s.client.broker_rtt_p99_us; }, Unit::seconds_from_us},
    {"producer_delivered_without_offset_total", Type::counter,
     "Records the client reported delivered without an offset (implicit acknowledgements).",
     [](const WriterStats& s) { return s.client.delivered_without_offset; }},
    {"client_statistics_total", Type::counter, "librdkafka statistics documents read.",
     [](const WriterStats& s) { return s.client.reports; }},
    {"client_statistics_malformed_total", Type::counter,
     "librdkafka statistics documents that could not be read.",
     [](const WriterStats& s) { return s.client.malformed_reports; }},
    {"client_statistics_callback_failures_total", Type::counter,
     "Exceptions thrown by the user's statistics callback.",
     [](const WriterStats& s) { return s.client.callback_failures; }},
};
// clang-format on

struct Reason {
    std::string_view name;
    std::uint64_t WriterStats::*field;
};
constexpr Reason reasons[] = {
    {"queue_full", &WriterStats::fallback_queue_full},
    {"too_large", &WriterStats::fallback_too_large},
    {"delivery_failed", &WriterStats::fallback_delivery_failed},
    {"closed", &WriterStats::fallback_closed},
    {"unreachable", &WriterStats::fallback_unreachable},
    {"reentrant", &WriterStats::fallback_reentrant},
};

bool name_char(char c, bool first, bool colon) noexcept {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return alpha || (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view name, bool colon) noexcept {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (!name_char(name[i], i == 0, colon)) return false;
    }
    return true;
}

void check_labels(const std::vector<PrometheusLabel>& labels, std::set<std::string>& seen,
                  std::string_view whose) {
    for (const auto& label : labels) {
        const std::string where =
            "kafka_log::prometheus_text: " + std::string(whose) + " label '" + label.name + "'";
        if (!valid_name(label.name, false) || label.name.starts_with("__")) {
            throw std::invalid_argument(where +
                                        ": not a label name ([a-zA-Z_][a-zA-Z0-9_]*, no "
                                        "leading '__')");
        }
        if (label.name == "writer" || label.name == "reason") {
            throw std::invalid_argument(where + ": reserved (set by prometheus_text)");
        }
        if (!seen.insert(label.name).second) {
            throw std::invalid_argument(where + ": given twice");
        }
    }
}

void append_escaped(std::string& out, std::string_view value) {
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

void append_label(std::string& out, std::string_view name, std::string_view value) {
    if (out.back() != '{') out += ',';
    out += name;
    out += "=\"";
    append_escaped(out, value);
    out += '"';
}

void append_value(std::string& out, std::uint64_t value, Unit unit) {
    if (unit != Unit::seconds_from_us) {
        out += std::to_string(value);
        return;
    }
    std::string micros = std::to_string(value % 1000000);
    out += std::to_string(value / 1000000);
    out += '.';
    out.append(6 - micros.size(), '0');
    out += micros;
}

}  // namespace

std::string prometheus_text(std::span<const WriterMetrics> writers,
                            const PrometheusOptions& options) {
    if (!options.prefix.empty() && !valid_name(options.prefix, true)) {
        throw std::invalid_argument("kafka_log::prometheus_text: prefix '" + options.prefix +
                                    "' is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
    }
    // Each writer's label set, rendered once: `{writer="..",...` without the closing brace.
    std::vector<std::string> label_sets;
    std::set<std::string> distinct;
    for (const WriterMetrics& writer : writers) {
        std::set<std::string> seen;
        check_labels(writer.labels, seen, "writer '" + writer.name + "'");
        check_labels(options.labels, seen, "constant");
        std::string set = "{";
        append_label(set, "writer", writer.name);
        for (const auto& label : writer.labels) append_label(set, label.name, label.value);
        for (const auto& label : options.labels) append_label(set, label.name, label.value);
        if (!distinct.insert(set).second) {
            throw std::invalid_argument("kafka_log::prometheus_text: writer '" + writer.name +
                                        "' is given twice with the same labels");
        }
        label_sets.push_back(std::move(set));
    }

    const std::string prefix = options.prefix.empty() ? std::string() : options.prefix + "_";
    std::string out;
    out.reserve(4096 + writers.size() * 2048);
    for (const Family& family : families) {
        const std::string name = prefix + std::string(family.name);
        out += "# HELP " + name + ' ' + std::string(family.help) + '\n';
        out += "# TYPE " + name + (family.type == Type::counter ? " counter\n" : " gauge\n");
        for (std::size_t i = 0; i < writers.size(); ++i) {
            const WriterStats& stats = writers[i].stats;
            if (family.value == nullptr) {  // records_fallback_total, one sample per reason
                for (const Reason& reason : reasons) {
                    out += name;
                    out += label_sets[i];
                    append_label(out, "reason", reason.name);
                    out += "} ";
                    append_value(out, stats.*reason.field, family.unit);
                    out += '\n';
                }
                continue;
            }
            out += name;
            out += label_sets[i];
            out += "} ";
            append_value(out, family.value(stats), family.unit);
            out += '\n';
        }
    }
    return out;
}

}  // namespace kafka_log
