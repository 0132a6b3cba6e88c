// SPDX-License-Identifier: Apache-2.0
#pragma once

// The types json_formatter writes through their operator<< (register_json_stream_type()).

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/type_index.hpp>

#include "kafka_log/boost_log/json_formatter.hpp"

namespace kafka_log::detail {

/// \brief The renderer of each registered type. Registrations are rare (at start-up) and
/// lookups run for every value of a registered type: each registration publishes a new
/// immutable map, and a lookup is one acquire load and a search, with no lock and no shared
/// cache line written. Every map published stays alive until exit, since a formatting thread
/// may still be reading an older one.
///
/// Thread safety: find() and add() may be called from any thread at once.
class JsonStreamRegistry {
public:
    using Map = std::map<boost::typeindex::type_index, JsonStreamRenderer>;

    /// The process's registry.
    static JsonStreamRegistry& instance();

    /// The renderer of `type`, or null.
    JsonStreamRenderer find(const boost::typeindex::type_index& type) const noexcept {
        const Map* map = current_.load(std::memory_order_acquire);
        if (map == nullptr) return nullptr;
        const auto it = map->find(type);
        return it == map->end() ? nullptr : it->second;
    }

    /// Registers (or replaces) the renderer of `type`.
    void add(const boost::typeindex::type_index& type, JsonStreamRenderer renderer);

private:
    std::atomic<const Map*> current_{nullptr};
    std::mutex mutex_;
    std::vector<std::unique_ptr<const Map>> published_;
};

}  // namespace kafka_log::detail
