// SPDX-License-Identifier: Apache-2.0
#pragma once

// ClientHandle: the producer's librdkafka handle, made from the effective configuration (the
// log-friendly defaults below the user's properties) with every callback routed to a
// CallbackBridge and served by rd_kafka_poll (log lines included: `log.queue`).
//
// Thread safety: get() and limits() from any thread once made.

#include <librdkafka/rdkafka.h>

#include <cstdint>

#include "../../detail/rdkafka_handles.hpp"
#include "kafka_log/producer_config.hpp"

namespace kafka_log::detail {

class CallbackBridge;

/// The user's properties over the defaults documented in rdkafka_producer.hpp.
/// \throws ConfigError when neither `bootstrap.servers` nor `test.mock.num.brokers` is set.
ProducerConfig effective_config(const ProducerConfig& user_config);

/// The limits librdkafka applies to its queue and records, defaults included.
struct QueueLimits {
    std::uint64_t max_records = 100000;        ///< queue.buffering.max.messages
    std::uint64_t max_bytes = 0;               ///< queue.buffering.max.kbytes * 1024
    std::uint64_t max_record_bytes = 1000000;  ///< message.max.bytes
};

class ClientHandle {
public:
    /// \throws ConfigError naming the key (never a secret value) when librdkafka rejects a
    /// property, or the client cannot be made.
    ClientHandle(const ProducerConfig& config, CallbackBridge& bridge);

    rd_kafka_t* get() const noexcept { return rk_.get(); }
    QueueLimits limits() const noexcept;

private:
    HandlePtr rk_;
};

}  // namespace kafka_log::detail
