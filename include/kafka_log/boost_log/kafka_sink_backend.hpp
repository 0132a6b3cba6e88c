// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief KafkaSinkBackend: a Boost.Log sink backend that ships formatted records to Kafka.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/log/attributes/attribute_name.hpp>
#include <boost/log/core/record_view.hpp>
#include <boost/log/sinks/basic_sink_backend.hpp>
#include <boost/log/sinks/frontend_requirements.hpp>

#include "kafka_log/export.hpp"
#include "kafka_log/json_options.hpp"
#include "kafka_log/kafka_writer.hpp"

namespace kafka_log {

/// \brief Options of KafkaSinkBackend.
struct SinkOptions {
    /// Name of the attribute whose value becomes the Kafka message key (records with the
    /// same key land on the same partition, in order). Empty, or the attribute absent on a
    /// record: the record has no key. String and integer attribute values are supported.
    std::string key_attribute{};
    /// How long `flush()` (called by `boost::log::core::flush()`) waits for Kafka.
    std::chrono::milliseconds flush_timeout{5000};
    /// Attributes that become Kafka record headers, in this order: each one present on a
    /// record gives a header of the same name whose value is the attribute's text, rendered as
    /// json_formatter renders it but without JSON's quoting (a string is its own bytes; a
    /// number, bool, time or severity is the text the JSON shows). An attribute absent from a
    /// record gives no header. Empty (the default): no headers, and no cost per record.
    std::vector<std::string> header_attributes{};
    /// How header values are rendered (severity names, time zone): give the JsonOptions of the
    /// sink's json_formatter so a header reads as the JSON field does.
    JsonOptions header_format{};
};

/// \brief Boost.Log sink backend: each formatted record goes to `KafkaWriter::write`.
///
/// Requirements are `concurrent_feeding` and `flushing`: the backend is thread-safe and
/// non-blocking, so the natural frontend is `boost::log::sinks::unlocked_sink`;
/// `synchronous_sink` and `asynchronous_sink` work too. `consume` never throws.
///
/// \code
///   auto writer  = std::make_shared<kafka_log::KafkaWriter>(producer, fallback,
///                                                          kafka_log::WriterOptions{"app-logs"});
///   auto backend = boost::make_shared<kafka_log::KafkaSinkBackend>(writer);
///   auto sink    =
///   boost::make_shared<boost::log::sinks::unlocked_sink<kafka_log::KafkaSinkBackend>>(backend);
///   boost::log::core::get()->add_sink(sink);
/// \endcode
///
/// Shutdown order (nothing is lost when it is followed):
/// 1. `boost::log::core::get()->remove_sink(sink)` — no new records reach the backend;
/// 2. `sink->stop()` — asynchronous frontends only: drains the frontend's queue;
/// 3. `sink->flush()` — waits for Kafka up to `SinkOptions::flush_timeout`;
/// 4. `writer->close(timeout)` — purges what is left into the fallback.
///
/// Thread safety: `consume` and `flush` may run concurrently on any threads. The delivery
/// handler of the writer runs on a producer thread; it must never log through this sink.
class KAFKA_LOG_EXPORT KafkaSinkBackend final
    : public boost::log::sinks::basic_formatted_sink_backend<
          char, boost::log::sinks::combine_requirements<boost::log::sinks::concurrent_feeding,
                                                        boost::log::sinks::flushing>::type> {
public:
    /// \throws std::invalid_argument when `writer` is null or a name in
    /// `SinkOptions::header_attributes` is empty (the message names its index).
    explicit KafkaSinkBackend(std::shared_ptr<KafkaWriter> writer, SinkOptions options = {});

    /// \brief Hands one formatted record to the writer; the key comes from
    /// `SinkOptions::key_attribute`, the headers from `SinkOptions::header_attributes`. Never
    /// throws: a header value that cannot be rendered is left out, never the record.
    void consume(const boost::log::record_view& record, const string_type& formatted);

    /// \brief Waits up to `SinkOptions::flush_timeout` for every record to be reported.
    void flush();

    /// \brief The writer this backend feeds.
    const std::shared_ptr<KafkaWriter>& writer() const noexcept { return writer_; }

private:
    /// `consume` for a backend with header attributes: renders them, then writes.
    void write_with_headers(const boost::log::record_view& record, const string_type& formatted,
                            std::string_view key) noexcept;

    std::shared_ptr<KafkaWriter> writer_;
    SinkOptions options_;
    std::optional<boost::log::attribute_name> key_name_;
    std::vector<boost::log::attribute_name> header_names_;  // of options_.header_attributes
};

}  // namespace kafka_log
