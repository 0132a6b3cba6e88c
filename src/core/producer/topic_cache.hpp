// SPDX-License-Identifier: Apache-2.0
#pragma once

// TopicCache: the librdkafka topic handle of each topic name, made on first use and kept until
// the cache goes (which must be before the client handle). The last topic made is published
// for a lock-free lookup: a writer produces to one topic, and finds it with one load and a
// string compare, writing no shared cache line.
//
// Thread safety: handle() from any thread.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "../../detail/rdkafka_handles.hpp"

namespace kafka_log::detail {

class TopicCache {
public:
    /// Topics of `client`, which must outlive the cache.
    explicit TopicCache(rd_kafka_t* client) noexcept : client_(client) {}

    TopicCache(const TopicCache&) = delete;
    TopicCache& operator=(const TopicCache&) = delete;

    /// The handle of topic `name`, made on first use; null when librdkafka cannot make it
    /// (rd_kafka_last_error() says why). \throws std::bad_alloc.
    rd_kafka_topic_t* handle(std::string_view name) {
        if (const Entry* last = last_made_.load(std::memory_order_acquire);
            last && last->name == name) {
            return last->handle;
        }
        return find_or_make(name);
    }

private:
    struct Entry {
        std::string name;
        rd_kafka_topic_t* handle;
    };

    rd_kafka_topic_t* find_or_make(std::string_view name);

    rd_kafka_t* const client_;
    std::shared_mutex mutex_;
    std::map<std::string, TopicPtr, std::less<>> topics_;  // guarded by mutex_
    // Entries live as long as the cache, so a published pointer never dangles.
    std::vector<std::unique_ptr<Entry>> entries_;  // guarded by mutex_
    std::atomic<const Entry*> last_made_{nullptr};
};

}  // namespace kafka_log::detail
