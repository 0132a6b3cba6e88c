// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief `Destination=Kafka` in Boost.Log settings files.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "kafka_log/export.hpp"

namespace kafka_log {

/// \brief Registers a Boost.Log sink factory so that settings files (`init_from_stream`,
/// `init_from_settings`) can declare Kafka sinks:
///
/// \code
///   [Sinks.Kafka]
///   Destination=Kafka
///   Brokers="broker1:9092,broker2:9092"   # or "embedded": see enable_embedded_brokers()
///   Topic=app-logs
///   Spool="/var/spool/app/kafka"          # a SpoolFallback directory (recommended)
///   SpoolMaxBytes=1073741824              # bytes; default 1 GiB
///   SpoolSegmentBytes=16777216            # bytes; default 16 MiB
///   Fallback="/var/log/app/kafka-fallback.log"   # or a text FileFallback; neither: stderr
///   FallbackRotationSize=104857600        # bytes; default: no rotation
///   FallbackMaxFiles=5
///   FallbackBufferSize=65536              # bytes; default 0: each record written through
///   Format=json                           # or any Boost.Log format string (default: json)
///   Filter="%Severity% >= info"
///   KeyAttribute=TraceID
///   Asynchronous=false                    # true: asynchronous_sink with a bounded queue
///   ProducerConfigFile="/etc/app/kafka.properties"
///   Producer.linger.ms=5                  # any librdkafka property; overrides the file
///   FlushTimeout=5000                     # ms that core::flush() waits for Kafka
///   CloseTimeout=5000                     # ms a removed sink's writer waits before purging
///   Name=app                              # find_writer("app"), find_level("app"); unique
///   Level=info                            # an AtomicLevel, changed at run time by name
/// \endcode
///
/// Call it once, before parsing the settings. It also registers Boost's simple filter and
/// formatter factories for a `Severity` attribute of type `boost::log::trivial::severity_level`
/// (an application with a severity type of its own registers that afterwards). An unknown
/// parameter, a bad value (a producer property librdkafka rejects, an unreadable ProducerConfigFile
/// or Fallback, a Spool directory that cannot be made or is held by another process, both Spool and
/// Fallback, a bad Format or Filter) or a missing `Brokers`/`Topic` throws Boost's
/// `invalid_value`/`missing_value` (or Boost's `parse_error` for Format/Filter), naming the
/// parameter and the sink section (Boost does not tell a factory the section's name: it is
/// identified by its Destination and Topic).
///
/// Shutdown loses nothing: `boost::log::core::get()->flush()` waits for Kafka, then
/// `remove_all_sinks()` closes each writer (what is left goes to the fallback).
///
/// \param destination the `Destination=` value that selects this factory.
KAFKA_LOG_EXPORT void register_boost_log_factory(std::string_view destination = "Kafka");

/// \brief The brokers a sink with `Brokers=embedded` writes to.
struct EmbeddedBrokers {
    /// `host:port,...`, set as the producer's `bootstrap.servers`.
    std::string bootstrap_servers;
    /// Kept alive by the sink until its writer is closed (the cluster those brokers are in).
    std::shared_ptr<void> keep_alive;
};

/// \brief Makes the brokers of a `Brokers=embedded` sink; called once per such sink, while the
/// settings are parsed. It may throw: the exception leaves `init_from_settings` as it is.
using EmbeddedBrokersResolver = std::function<EmbeddedBrokers()>;

/// \brief Installs what `Brokers=embedded` means, replacing any earlier resolver (an empty
/// one removes it). Without a resolver, `Brokers=embedded` throws Boost's `invalid_value`
/// naming the parameter. Programs that link kafka_log::testing call
/// `kafka_log::enable_embedded_brokers()` (kafka_log/testing/embedded_cluster.hpp), which
/// installs one that runs an in-process EmbeddedCluster; the Boost.Log adapter itself never
/// starts a cluster.
///
/// Thread safety: may be called from any thread; a sink being created uses the resolver
/// installed before or after the call, never a mix.
KAFKA_LOG_EXPORT void set_embedded_brokers_resolver(EmbeddedBrokersResolver resolver);

}  // namespace kafka_log
