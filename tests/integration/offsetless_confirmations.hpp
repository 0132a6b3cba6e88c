// SPDX-License-Identifier: Apache-2.0
#pragma once

// Which records librdkafka confirmed without an offset, written down as they come.
//
// `OffsetlessRecorder` is an AsyncProducer that hands everything to another one and appends,
// for each record reported delivered without an offset (`DeliveryReport::offset` -1: an
// implicit acknowledgement, see `ClientStats::delivered_without_offset`), the record's
// `run=.. thread=.. seq=..` prefix (chaos_payload.hpp) as one line to a file. The file is opened
// with O_APPEND and each line is one write(): a process killed by SIGKILL keeps every line
// written before. The embedded cluster does not check sequence numbers, so such a record may be
// missing from the topic without kafka_log having lost it: the soak reads these files to tell
// the two apart (`read_offsetless`).

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka_log/async_producer.hpp"

namespace kafka_log::test {

/// The `run=.. thread=.. seq=NNN` prefix of a chaos payload (the whole payload when it has none).
inline std::string_view chaos_prefix(std::string_view payload) {
    const std::size_t seq = payload.find("seq=");
    if (seq == std::string_view::npos) return payload;
    std::size_t end = seq + 4;
    while (end < payload.size() && payload[end] >= '0' && payload[end] <= '9') ++end;
    return payload.substr(0, end);
}

class OffsetlessRecorder final : public AsyncProducer {
public:
    /// \throws std::runtime_error when `path` cannot be opened for appending.
    OffsetlessRecorder(std::shared_ptr<AsyncProducer> inner, const std::filesystem::path& path)
        : inner_(std::move(inner)),
          fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) {
        if (fd_ < 0) throw std::runtime_error("cannot open " + path.string());
    }
    ~OffsetlessRecorder() override {
        inner_.reset();  // its last reports (a close's) come before the file goes
        ::close(fd_);
    }

    void set_delivery_handler(DeliveryHandler handler) override {
        inner_->set_delivery_handler(
            [this, handler = std::move(handler)](const DeliveryReport& report) {
                if (!report.error && report.offset < 0) note(report.message.payload);
                handler(report);
            });
    }
    ProduceStatus produce(const MessageView& message) override { return inner_->produce(message); }
    bool flush(std::chrono::milliseconds timeout) override { return inner_->flush(timeout); }
    void close(std::chrono::milliseconds timeout) override { inner_->close(timeout); }
    void set_cluster_state_handler(ClusterStateHandler handler) override {
        inner_->set_cluster_state_handler(std::move(handler));
    }
    ClientStats client_stats() const override { return inner_->client_stats(); }

private:
    void note(std::string_view payload) noexcept {
        char line[128];
        const std::string_view prefix = chaos_prefix(payload).substr(0, sizeof line - 1);
        prefix.copy(line, prefix.size());
        line[prefix.size()] = '\n';
        [[maybe_unused]] const ssize_t n = ::write(fd_, line, prefix.size() + 1);
    }

    std::shared_ptr<AsyncProducer> inner_;
    int fd_;
};

/// The lines an OffsetlessRecorder wrote to `path` (none when there is no such file).
inline std::vector<std::string> read_offsetless(const std::filesystem::path& path) {
    std::vector<std::string> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) out.push_back(line);
    }
    return out;
}

}  // namespace kafka_log::test
