// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/glog/glog_kafka_sink.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

namespace kafka_log {

namespace {

std::string_view level_name(google::LogSeverity severity) noexcept {
    switch (severity) {
        case google::GLOG_INFO: return "info";
        case google::GLOG_WARNING: return "warning";
        case google::GLOG_ERROR: return "error";
        case google::GLOG_FATAL: return "fatal";
        default: return "unknown";
    }
}

std::int64_t kernel_thread_id() noexcept {
    thread_local const std::int64_t id = static_cast<std::int64_t>(::syscall(SYS_gettid));
    return id;
}

}  // namespace

GlogKafkaSink::GlogKafkaSink(std::shared_ptr<KafkaWriter> writer, GlogSinkOptions options)
    : writer_(std::move(writer)), options_(std::move(options)) {
    if (!writer_) throw std::invalid_argument("kafka_log::GlogKafkaSink: writer is null");
}

void GlogKafkaSink::format(std::string& out, google::LogSeverity severity, const char* base_filename, int line,
                           const google::LogMessageTime& time, const char* message, std::size_t message_len) const {
    const JsonOptions& o = options_.json;
    JsonEncoder json(out);
    json.begin_object();
    json.key(o.level_key);
    json.string(level_name(severity));
    json.key(o.time_key);
    json.time(std::chrono::system_clock::from_time_t(time.timestamp()) + std::chrono::microseconds(time.usec()), o.utc);
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

void GlogKafkaSink::send(google::LogSeverity severity, const char* /*full_filename*/, const char* base_filename,
                         int line, const google::LogMessageTime& time, const char* message, std::size_t message_len) {
    // No LOG() here: glog holds its mutex while it calls us.
    thread_local std::string record;
    record.clear();
    try {
        format(record, severity, base_filename, line, time, message, message_len);
    } catch (...) {
        record.assign(message ? message : "", message ? message_len : 0);  // out of memory: the raw line
    }
    writer_->write(record);
    if (severity >= google::GLOG_FATAL) {
        // glog aborts once we return: give Kafka (or the fallback) the fatal line first.
        try {
            writer_->flush(options_.fatal_flush_timeout);
        } catch (...) {
        }
    }
}

void GlogKafkaSink::WaitTillSent() {
    // Nothing to wait for: send() handed the record over, and Kafka is never waited on here.
}

}  // namespace kafka_log
