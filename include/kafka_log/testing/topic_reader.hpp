// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief read_topic: every record of a topic, for read-back checks in tests and demos
/// (library kafka_log::testing).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka_log/producer_config.hpp"
#include "kafka_log/testing/export.hpp"

namespace kafka_log {

/// \brief One record read back from a topic: an owning copy of what the broker holds.
///
/// Thread safety: a value type; concurrent const use is safe.
struct TopicRecord {
    std::string payload;   ///< The value (empty for a null value).
    std::string key;       ///< The key; empty when the record has none (see `has_key`).
    bool has_key = false;  ///< False for a record produced without a key.
    /// The record's headers, in order (a name may repeat; a null value reads as empty).
    std::vector<std::pair<std::string, std::string>> headers;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    /// The record's timestamp, ms since the Unix epoch (the producer's create time, or the
    /// broker's log-append time); 0 when the broker has none.
    std::int64_t timestamp_ms = 0;

    /// \brief The value of the first header named `name`; nullptr when there is none.
    /// The pointer is valid while this record is neither changed nor destroyed.
    const std::string* header(std::string_view name) const noexcept {
        for (const auto& [n, v] : headers) {
            if (n == name) return &v;
        }
        return nullptr;
    }

    bool operator==(const TopicRecord&) const = default;
};

/// \brief The payloads of `records`, in the same order.
KAFKA_LOG_TESTING_EXPORT std::vector<std::string> payloads(const std::vector<TopicRecord>& records);

/// \brief Reads every record of `topic`, from each partition's low watermark up to the high
/// watermark at the time of the call, without joining a consumer group (no offsets are
/// committed). Records come partition by partition (ascending partition id), each partition
/// in offset order.
///
/// \param bootstrap_servers `host:port,...` of the cluster.
/// \param extra extra librdkafka consumer properties (security settings, say).
/// \throws std::runtime_error naming the topic when its metadata or records cannot be read
/// within `timeout`; ConfigError when a property of `extra` is rejected.
KAFKA_LOG_TESTING_EXPORT std::vector<TopicRecord> read_topic(const std::string& bootstrap_servers,
                                                             const std::string& topic,
                                                             std::chrono::milliseconds timeout,
                                                             const ProducerConfig& extra = {});

}  // namespace kafka_log
