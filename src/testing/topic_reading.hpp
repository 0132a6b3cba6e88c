// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the testing library's two parts share: librdkafka consumers that read a topic by
// assignment. Private: no public header includes librdkafka.

#include <cstdint>
#include <string>
#include <vector>

#include "../detail/rdkafka_handles.hpp"
#include "kafka_log/producer_config.hpp"

namespace kafka_log::detail {

/// \throws std::runtime_error "kafka_log: <what>: <librdkafka's reason>" unless `err` is
/// RD_KAFKA_RESP_ERR_NO_ERROR.
void check(rd_kafka_resp_err_t err, const std::string& what);

/// A configuration whose librdkafka log lines go nowhere.
ConfPtr quiet_conf();

/// A consumer that reads by assignment (no group membership, no commits).
/// \throws ConfigError when a property of `extra` is rejected; std::runtime_error otherwise.
HandlePtr new_reader(const std::string& bootstrap, const ProducerConfig& extra);

/// Partition ids of `topic`. \throws std::runtime_error when its metadata cannot be read.
std::vector<std::int32_t> partitions(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

}  // namespace kafka_log::detail
