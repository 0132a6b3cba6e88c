// SPDX-License-Identifier: Apache-2.0
#include "json_stream_registry.hpp"

namespace kafka_log::detail {

JsonStreamRegistry& JsonStreamRegistry::instance() {
    static JsonStreamRegistry registry;
    return registry;
}

void JsonStreamRegistry::add(const boost::typeindex::type_index& type,
                             JsonStreamRenderer renderer) {
    std::lock_guard lock(mutex_);
    auto next =
        published_.empty() ? std::make_unique<Map>() : std::make_unique<Map>(*published_.back());
    (*next)[type] = renderer;
    published_.push_back(std::move(next));
    current_.store(published_.back().get(), std::memory_order_release);
}

}  // namespace kafka_log::detail
