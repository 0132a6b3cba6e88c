// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief EmbeddedCluster: librdkafka's in-process mock Kafka cluster, for tests and demos
/// (library kafka_log::testing, which no production library links).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kafka_log/testing/export.hpp"
#include "kafka_log/testing/topic_reader.hpp"

namespace kafka_log {

namespace detail {
class EmbeddedClusterImpl;
}

/// \brief A Kafka cluster inside this process: librdkafka's mock cluster, which speaks the
/// real Kafka protocol on 127.0.0.1 (random ports, loopback only). Stands in for a broker in
/// integration tests, examples and benchmarks; lets a test take brokers down, slow them, move
/// partition leaders and inject produce errors.
///
/// Topics that are produced to without `create_topic` are created with 4 partitions. The mock
/// keeps only about the last 5 MiB of each partition's log (measured with librdkafka 2.0.2):
/// older records leave the log and the low watermark moves, so `read_all` returns what is still
/// kept while `message_count` (high watermarks) counts everything ever appended. Tests that
/// read back large volumes spread them over enough partitions.
/// The API is librdkafka's experimental mock API: fine for tests, not for production.
///
/// Thread safety: all members may be called from any thread.
class KAFKA_LOG_TESTING_EXPORT EmbeddedCluster {
public:
    /// \brief Starts `brokers` brokers (ids 1..brokers).
    /// \throws std::invalid_argument for brokers < 1; std::runtime_error when the cluster
    /// cannot start.
    explicit EmbeddedCluster(int brokers = 1);
    ~EmbeddedCluster();
    EmbeddedCluster(const EmbeddedCluster&) = delete;
    EmbeddedCluster& operator=(const EmbeddedCluster&) = delete;

    /// \brief `127.0.0.1:port,...`, for `bootstrap.servers`.
    std::string bootstrap_servers() const;
    /// \brief Number of brokers.
    int brokers() const noexcept;

    /// \throws std::runtime_error with librdkafka's reason on failure.
    void create_topic(const std::string& name, int partitions = 1, int replication = 1);
    /// \brief Stops answering on broker `id` (connections are closed and refused).
    void set_broker_down(int id);
    /// \brief Brings broker `id` back.
    void set_broker_up(int id);
    /// \brief Delays every response of broker `id` by `ms` milliseconds.
    void set_broker_rtt(int id, int ms);
    /// \brief Makes broker `broker_id` the leader of `topic`/`partition`.
    void set_partition_leader(const std::string& topic, int partition, int broker_id);
    /// \brief The next `count` Produce requests (to any broker) fail with Kafka error `code`
    /// (e.g. 6 NOT_LEADER_FOR_PARTITION, retriable; 29 TOPIC_AUTHORIZATION_FAILED, not).
    ///
    /// The cluster does not check an idempotent producer's sequence numbers: a request refused
    /// with a retriable error while a later one of the same partition was in flight leaves its
    /// records unwritten, yet librdkafka reports them delivered when the later one succeeds
    /// (without an offset; `ClientStats::delivered_without_offset` counts them). Kafka would
    /// refuse the later request. Tests that push retriable errors under load allow for it.
    void push_produce_errors(std::size_t count, int code);

    /// \brief Sum of the high watermarks of every partition of `topic`.
    /// \throws std::runtime_error when the topic's metadata cannot be read within `timeout`.
    std::uint64_t message_count(const std::string& topic,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
    /// \brief Every record on `topic` (payload, key, headers, timestamp), partition by partition
    /// (ascending id), each in offset order; `payloads(read_all(...))` for the values alone.
    /// \throws std::runtime_error when the topic cannot be read completely within `timeout`.
    std::vector<TopicRecord> read_all(const std::string& topic,
                                      std::chrono::milliseconds timeout) const;

private:
    std::unique_ptr<detail::EmbeddedClusterImpl> impl_;
};

/// \brief Lets Boost.Log settings files say `Brokers=embedded`: each such sink then writes to
/// one EmbeddedCluster of this process (1 broker), started by the first sink that needs it and
/// shared by the others (see `settings_embedded_cluster`). Call it once, before
/// `init_from_settings` / `init_from_stream`, in a program that links kafka_log::testing;
/// without it `Brokers=embedded` is refused. Calling it again changes nothing.
///
/// Available when kafka_log is built with its Boost.Log adapter (kafka_log::boost_log). It
/// installs a resolver with `kafka_log::set_embedded_brokers_resolver`
/// (kafka_log/boost_log/settings_factory.hpp).
///
/// Thread safety: may be called from any thread; sinks created concurrently see the resolver
/// either installed or not.
KAFKA_LOG_TESTING_EXPORT void enable_embedded_brokers();

/// \brief The cluster that sinks with `Brokers=embedded` write to, or null when none is
/// running. It lives while a sink uses it or a caller holds it. Available with
/// `enable_embedded_brokers`.
KAFKA_LOG_TESTING_EXPORT std::shared_ptr<EmbeddedCluster> settings_embedded_cluster();

}  // namespace kafka_log
