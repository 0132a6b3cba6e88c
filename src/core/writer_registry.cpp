// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/writer_registry.hpp"

#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>

namespace kafka_log {

namespace {

struct Registry {
    std::mutex mutex;
    std::map<std::string, std::weak_ptr<KafkaWriter>, std::less<>> writers;  // guarded by mutex
};

Registry& registry() {
    static Registry instance;
    return instance;
}

}  // namespace

void register_writer(const std::string& name, const std::shared_ptr<KafkaWriter>& writer) {
    if (name.empty()) throw std::invalid_argument("kafka_log::register_writer: the name is empty");
    if (!writer) {
        throw std::invalid_argument("kafka_log::register_writer: writer '" + name + "' is null");
    }
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    auto [at, inserted] = r.writers.try_emplace(name, writer);
    if (inserted) return;
    if (!at->second.expired()) {
        throw std::invalid_argument("kafka_log::register_writer: a writer named '" + name +
                                    "' is already registered");
    }
    at->second = writer;  // the earlier one is gone
}

bool unregister_writer(std::string_view name) {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    const auto at = r.writers.find(name);
    if (at == r.writers.end()) return false;
    const bool live = !at->second.expired();
    r.writers.erase(at);
    return live;
}

std::shared_ptr<KafkaWriter> find_writer(std::string_view name) {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    const auto at = r.writers.find(name);
    return at == r.writers.end() ? nullptr : at->second.lock();
}

std::vector<NamedWriter> registered_writers() {
    Registry& r = registry();
    std::vector<NamedWriter> out;
    std::lock_guard lock(r.mutex);
    for (auto at = r.writers.begin(); at != r.writers.end();) {
        if (auto writer = at->second.lock()) {
            out.push_back({at->first, std::move(writer)});
            ++at;
        } else {
            at = r.writers.erase(at);  // destroyed: the name is free
        }
    }
    return out;
}

std::vector<WriterMetrics> registered_writer_metrics() {
    std::vector<WriterMetrics> out;
    for (const NamedWriter& named : registered_writers()) {
        out.push_back({named.name, named.writer->stats(), {}});
    }
    return out;
}

}  // namespace kafka_log
