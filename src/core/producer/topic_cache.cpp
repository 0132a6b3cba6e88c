// SPDX-License-Identifier: Apache-2.0
#include "topic_cache.hpp"

#include <mutex>
#include <utility>

namespace kafka_log::detail {

rd_kafka_topic_t* TopicCache::find_or_make(std::string_view name) {
    {
        std::shared_lock lock(mutex_);
        const auto it = topics_.find(name);
        if (it != topics_.end()) return it->second.get();
    }
    std::unique_lock lock(mutex_);
    const auto it = topics_.find(name);
    if (it != topics_.end()) return it->second.get();
    std::string key(name);
    TopicPtr handle(rd_kafka_topic_new(client_, key.c_str(), nullptr));
    if (!handle) return nullptr;
    rd_kafka_topic_t* raw = topics_.emplace(key, std::move(handle)).first->second.get();
    entries_.push_back(std::make_unique<Entry>(Entry{std::move(key), raw}));
    last_made_.store(entries_.back().get(), std::memory_order_release);
    return raw;
}

}  // namespace kafka_log::detail
