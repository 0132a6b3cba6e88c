// SPDX-License-Identifier: Apache-2.0
// `Brokers=embedded` in Boost.Log settings files: one EmbeddedCluster shared by the sinks.
#include <memory>
#include <mutex>

#include "kafka_log/boost_log/settings_factory.hpp"
#include "kafka_log/testing/embedded_cluster.hpp"

namespace kafka_log {

namespace {

std::mutex& cluster_mutex() {
    static std::mutex mutex;
    return mutex;
}
std::weak_ptr<EmbeddedCluster>& cluster_slot() {
    static std::weak_ptr<EmbeddedCluster> slot;
    return slot;
}

/// The cluster of the `Brokers=embedded` sinks, started when none is running.
std::shared_ptr<EmbeddedCluster> shared_embedded_cluster() {
    std::lock_guard lock(cluster_mutex());
    std::shared_ptr<EmbeddedCluster> cluster = cluster_slot().lock();
    if (!cluster) {
        cluster = std::make_shared<EmbeddedCluster>(1);
        cluster_slot() = cluster;
    }
    return cluster;
}

}  // namespace

void enable_embedded_brokers() {
    set_embedded_brokers_resolver([] {
        std::shared_ptr<EmbeddedCluster> cluster = shared_embedded_cluster();
        return EmbeddedBrokers{cluster->bootstrap_servers(), std::move(cluster)};
    });
}

std::shared_ptr<EmbeddedCluster> settings_embedded_cluster() {
    std::lock_guard lock(cluster_mutex());
    return cluster_slot().lock();
}

}  // namespace kafka_log
