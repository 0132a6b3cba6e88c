// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/async_producer.hpp"

namespace kafka_log {

AsyncProducer::~AsyncProducer() = default;

void AsyncProducer::set_cluster_state_handler(ClusterStateHandler /*handler*/) {}

ClientStats AsyncProducer::client_stats() const {
    return {};
}

std::string_view to_string(ProduceStatus status) noexcept {
    switch (status) {
        case ProduceStatus::accepted:
            return "accepted";
        case ProduceStatus::queue_full:
            return "queue_full";
        case ProduceStatus::too_large:
            return "too_large";
        case ProduceStatus::closed:
            return "closed";
    }
    return "unknown";
}

}  // namespace kafka_log
