// SPDX-License-Identifier: Apache-2.0
#pragma once

// A spooled record as the message SpoolDrain sends back to Kafka, and the headers that mark it.

#include <string_view>
#include <vector>

#include "kafka_log/async_producer.hpp"
#include "kafka_log/spool_drain.hpp"
#include "kafka_log/spool_reader.hpp"

namespace kafka_log::detail::spool {

/// \brief The message that replays `record`: to `topic` when not empty (else its own), with its
/// key, payload, timestamp and headers, to which `headers` (refilled here, and which must
/// outlive the message) adds `kafka_log.id` and `kafka_log.replayed`.
/// \throws std::bad_alloc
inline MessageView replay_message(const SpoolRecord& record, std::string_view topic,
                                  std::vector<RecordHeader>& headers) {
    headers.clear();
    for (const auto& [name, value] : record.headers) headers.push_back(RecordHeader{name, value});
    headers.push_back(RecordHeader{replay_id_header, record.id});
    headers.push_back(
        RecordHeader{replayed_header, record.possibly_persisted ? "possibly-duplicate" : "1"});
    return MessageView{topic.empty() ? std::string_view(record.topic) : topic,
                       record.key ? std::string_view(*record.key) : std::string_view(),
                       record.payload, headers, record.timestamp_ms};
}

/// \brief The value of the header `name` of `message` (empty when it has none).
inline std::string_view header_value(const MessageView& message, std::string_view name) noexcept {
    for (const RecordHeader& h : message.headers) {
        if (h.name == name) return h.value;
    }
    return {};
}

}  // namespace kafka_log::detail::spool
