// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/glog/glog_kafka_sink.hpp"

#include "kafka_log/json_writer.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace kafka_log {

namespace {

std::string_view level_name(google::LogSeverity severity) noexcept {
    switch (severity) {
        case google::GLOG_INFO:
            return "info";
        case google::GLOG_WARNING:
            return "warning";
        case google::GLOG_ERROR:
            return "error";
        case google::GLOG_FATAL:
            return "fatal";
        default:
            return "unknown";
    }
}

/// How long a FATAL `send` waits beyond `fatal_flush_timeout` for the writer's close (which
/// takes at most the timeout plus about two seconds: the purged records' reports, then the
/// ones close serves itself).
constexpr std::chrono::seconds fatal_close_grace{3};

std::int64_t kernel_thread_id() noexcept {
    thread_local const std::int64_t id = static_cast<std::int64_t>(::syscall(SYS_gettid));
    return id;
}

}  // namespace

GlogKafkaSink::GlogKafkaSink(std::shared_ptr<KafkaWriter> writer, GlogSinkOptions options)
    : writer_(std::move(writer)), options_(std::move(options)) {
    if (!writer_) throw std::invalid_argument("kafka_log::GlogKafkaSink: writer is null");
}

void GlogKafkaSink::format(std::string& out, google::LogSeverity severity,
                           const char* base_filename, int line, const google::LogMessageTime& time,
                           const char* message, std::size_t message_len) const {
    const JsonOptions& o = options_.json;
    JsonWriter json(out, 256);
    json.begin_object();
    json.key(o.level_key);
    json.string(level_name(severity));
    json.key(o.time_key);
    json.time(std::chrono::system_clock::from_time_t(time.timestamp()) +
                  std::chrono::microseconds(time.usec()),
              o.utc);
    json.key(o.message_key);
    json.string(std::string_view(message ? message : "", message ? message_len : 0));
    if (!o.record_id_key.empty()) {
        json.key(o.record_id_key);
        json.record_id();
    }
    json.key("file");
    json.string(base_filename ? base_filename : "");
    json.key("line");
    json.number(line);
    json.key("thread");
    json.number(kernel_thread_id());
    json.end_object();
}

void GlogKafkaSink::send(google::LogSeverity severity, const char* /*full_filename*/,
                         const char* base_filename, int line, const google::LogMessageTime& time,
                         const char* message, std::size_t message_len) {
    // No LOG() here: glog holds its mutex while it calls us.
    thread_local std::string record;
    record.clear();
    try {
        format(record, severity, base_filename, line, time, message, message_len);
    } catch (...) {
        record.assign(message ? message : "",
                      message ? message_len : 0);  // out of memory: the raw line
    }
    if (options_.source_headers) {
        char line_text[16];
        const auto printed = std::to_chars(line_text, line_text + sizeof line_text, line);
        const RecordHeader headers[] = {
            {"severity", level_name(severity)},
            {"file", base_filename ? std::string_view(base_filename) : std::string_view()},
            {"line",
             std::string_view(line_text, static_cast<std::size_t>(printed.ptr - line_text))}};
        writer_->write(record, {}, headers);
    } else {
        writer_->write(record);
    }
    if (severity >= google::GLOG_FATAL) close_before_abort();
}

void GlogKafkaSink::close_before_abort() noexcept {
    // glog aborts once we return: Kafka gets fatal_flush_timeout for what is in flight, then
    // close purges the rest into the fallback and flushes it. close() runs on a helper thread
    // because the producer's thread may be blocked on glog's lock, which our caller holds (a
    // librdkafka log callback that logs through glog): close would then wait forever to join
    // it. Waiting a bounded time lets glog abort all the same.
    const std::chrono::milliseconds timeout = options_.fatal_flush_timeout;
    struct Done {
        std::mutex mutex;
        std::condition_variable cv;
        bool closed = false;
    };
    try {
        auto done = std::make_shared<Done>();
        std::thread([writer = writer_, done, timeout]() mutable {
            try {
                writer->close(timeout);
            } catch (...) {
            }
            // Let the writer go before saying so: the caller (and, in a test, the program) may
            // end as soon as it hears, while this detached thread is still unwinding.
            writer.reset();
            std::lock_guard lock(done->mutex);
            done->closed = true;
            done->cv.notify_all();
        }).detach();
        std::unique_lock lock(done->mutex);
        done->cv.wait_for(lock, timeout + fatal_close_grace, [&] { return done->closed; });
        return;
    } catch (...) {
        // No helper thread (out of resources): close on this one.
    }
    try {
        writer_->close(timeout);
    } catch (...) {
    }
}

void GlogKafkaSink::WaitTillSent() {
    // Nothing to wait for: send() handed the record over, and Kafka is never waited on here.
}

}  // namespace kafka_log
