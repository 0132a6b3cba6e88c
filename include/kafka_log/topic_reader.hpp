// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief read_topic: every payload of a topic, for read-back checks in tests and demos.

#include <chrono>
#include <string>
#include <vector>

#include "kafka_log/export.hpp"
#include "kafka_log/producer_config.hpp"

namespace kafka_log {

/// \brief Reads every record of `topic`, from each partition's low watermark up to the high
/// watermark at the time of the call, without joining a consumer group (no offsets are
/// committed). Payloads come partition by partition, in offset order.
///
/// \param bootstrap_servers `host:port,...` of the cluster.
/// \param extra extra librdkafka consumer properties (security settings, say).
/// \throws std::runtime_error naming the topic when its metadata or records cannot be read
/// within `timeout`; ConfigError when a property of `extra` is rejected.
KAFKA_LOG_EXPORT std::vector<std::string> read_topic(const std::string& bootstrap_servers,
                                                     const std::string& topic,
                                                     std::chrono::milliseconds timeout,
                                                     const ProducerConfig& extra = {});

}  // namespace kafka_log
