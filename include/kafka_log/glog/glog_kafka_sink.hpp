// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief GlogKafkaSink: glog's LogSink on a KafkaWriter — the same JSON, fallback and counters
/// as the Boost.Log path.

#include <chrono>
#include <cstddef>
#include <memory>

#include <glog/logging.h>

#include "kafka_log/export.hpp"
#include "kafka_log/json_options.hpp"
#include "kafka_log/kafka_writer.hpp"

namespace kafka_log {

/// \brief Options of GlogKafkaSink.
struct GlogSinkOptions {
    /// Keys and time zone of the JSON records (`level`, `logtime`, `msg`, `record_id_key`,
    /// `utc`); the attribute options do not apply to glog.
    JsonOptions json{};
    /// On a FATAL record, before glog aborts, the sink closes the writer with this timeout:
    /// records still in the producer (the fatal line and those queued before it) get up to this
    /// long to reach Kafka, then every one left is purged into the fallback (`fallback_closed`)
    /// and the fallback is flushed. One wait, not two: `close(timeout)`, no separate flush.
    std::chrono::milliseconds fatal_flush_timeout{2000};
    /// Give every record three Kafka headers: `severity` (the level name, as in the JSON),
    /// `file` (the base file name) and `line` (decimal). false (the default): no headers.
    bool source_headers = false;
};

/// \brief A `google::LogSink` that ships every LOG() line to Kafka through a KafkaWriter, as a
/// JSON record: `{"level":"info","logtime":"…","msg":"…","file":"main.cc","line":42,"thread":1234}`
/// (levels `info`, `warning`, `error`, `fatal`; `thread` is the kernel thread id glog prints).
///
/// \code
///   kafka_log::GlogKafkaSink sink(writer);
///   google::AddLogSink(&sink);        // or: kafka_log::ScopedGlogSink scoped(sink);
///   LOG(INFO) << "hello";
///   google::RemoveLogSink(&sink);
///   writer->close(std::chrono::seconds(5));
/// \endcode
///
/// `send` never logs (glog holds its mutex meanwhile) and never waits on the network;
/// `WaitTillSent` returns at once.
///
/// FATAL: glog aborts once `send` returns, so for a FATAL record `send` calls
/// `writer()->close(fatal_flush_timeout)`: Kafka gets up to `fatal_flush_timeout` for what is
/// in flight, then the producer purges what is left into the fallback (counted
/// `fallback_closed`) and the writer flushes the fallback. Even with Kafka unreachable, the
/// fatal line and every line queued before it end in the fallback. The writer stays closed:
/// should the process survive (a glog failure function that returns), later lines go to the
/// fallback. The close runs on a helper thread and `send` waits for it at most
/// `fatal_flush_timeout` + 3 s (close's own bound is the timeout plus about two seconds), so a
/// producer callback blocked on glog's lock (a librdkafka log callback that calls `LOG()`,
/// while glog holds that lock around `send`) cannot keep the process from aborting; only then
/// may records still in the producer be lost.
///
/// Thread safety: glog calls `send` from any logging thread; the sink is stateless apart from
/// the writer, which is thread-safe. The sink must outlive its registration with glog.
class KAFKA_LOG_EXPORT GlogKafkaSink final : public google::LogSink {
public:
    /// \throws std::invalid_argument when `writer` is null.
    explicit GlogKafkaSink(std::shared_ptr<KafkaWriter> writer, GlogSinkOptions options = {});

    using google::LogSink::send;
    void send(google::LogSeverity severity, const char* full_filename, const char* base_filename,
              int line, const google::LogMessageTime& time, const char* message,
              std::size_t message_len) override;
    void WaitTillSent() override;

    /// \brief The writer this sink feeds.
    const std::shared_ptr<KafkaWriter>& writer() const noexcept { return writer_; }

    /// \brief Appends the JSON record for one glog line to `out` (what `send` ships).
    void format(std::string& out, google::LogSeverity severity, const char* base_filename, int line,
                const google::LogMessageTime& time, const char* message,
                std::size_t message_len) const;

private:
    /// The FATAL path: closes the writer (see the class comment), bounded.
    void close_before_abort() noexcept;

    std::shared_ptr<KafkaWriter> writer_;
    GlogSinkOptions options_;
};

/// \brief Registers a sink with glog for its lifetime (AddLogSink / RemoveLogSink).
class KAFKA_LOG_EXPORT ScopedGlogSink {
public:
    explicit ScopedGlogSink(google::LogSink& sink) : sink_(sink) { google::AddLogSink(&sink_); }
    ~ScopedGlogSink() { google::RemoveLogSink(&sink_); }
    ScopedGlogSink(const ScopedGlogSink&) = delete;
    ScopedGlogSink& operator=(const ScopedGlogSink&) = delete;

private:
    google::LogSink& sink_;
};

}  // namespace kafka_log
