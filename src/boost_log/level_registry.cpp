// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/level_registry.hpp"

#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>

namespace kafka_log {

namespace {

struct Entry {
    std::weak_ptr<KafkaWriter> owner;
    AtomicLevel level;
};

struct Registry {
    std::mutex mutex;
    std::map<std::string, Entry, std::less<>> levels;  // guarded by mutex
};

Registry& registry() {
    static Registry instance;
    return instance;
}

}  // namespace

void register_level(const std::string& name, const AtomicLevel& level,
                    const std::shared_ptr<KafkaWriter>& owner) {
    if (name.empty()) throw std::invalid_argument("kafka_log::register_level: the name is empty");
    if (!owner) {
        throw std::invalid_argument("kafka_log::register_level: the owner of level '" + name +
                                    "' is null");
    }
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    const auto at = r.levels.find(name);
    if (at == r.levels.end()) {
        r.levels.emplace(name, Entry{owner, level});
        return;
    }
    if (!at->second.owner.expired()) {
        throw std::invalid_argument("kafka_log::register_level: a level named '" + name +
                                    "' is already registered");
    }
    at->second = Entry{owner, level};
}

std::optional<AtomicLevel> find_level(std::string_view name) {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    const auto at = r.levels.find(name);
    if (at == r.levels.end()) return std::nullopt;
    if (at->second.owner.expired()) {
        r.levels.erase(at);
        return std::nullopt;
    }
    return at->second.level;
}

}  // namespace kafka_log
