// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief ProducerConfig: librdkafka properties, in order, with secrets kept out of messages.

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka_log/errors.hpp"
#include "kafka_log/export.hpp"

namespace kafka_log {

/// \brief An ordered list of librdkafka configuration properties (`bootstrap.servers`,
/// `linger.ms`, `sasl.password`, ...), applied in order by RdKafkaProducer.
///
/// Properties files hold one `key=value` per line; `#` starts a comment line; blank lines are
/// ignored; whitespace around key and value is trimmed; the value is everything after the
/// first `=` (it may contain `=`). A key is made of letters, digits, `.`, `_` and `-`.
///
/// Secrets: values are printed (by redacted(), in ConfigError messages of this class and of
/// RdKafkaProducer) only for keys on an allow-list of harmless keys (is_printable()); every
/// other value is shown as `***`, and a bad line is never echoed. Where librdkafka's own text
/// quotes a value (a rejected property, a client error such as a bad
/// `sasl.oauthbearer.config`), the value, its quoted tokens and any piece of it of 6 or more
/// characters are replaced by `***` before kafka_log throws or prints it; in librdkafka's log
/// and error lines that RdKafkaProducer prints to stderr, values shorter than 4 characters are
/// left alone (masking `1` everywhere would garble the line). Lines passed to a user's
/// `RdKafkaOptions::log_callback` / `error_callback` are librdkafka's, unchanged.
///
/// Thread safety: a value type; concurrent const use is safe.
class KAFKA_LOG_EXPORT ProducerConfig {
public:
    using Property = std::pair<std::string, std::string>;

    ProducerConfig() = default;
    ProducerConfig(std::initializer_list<Property> properties);

    /// \brief Reads a properties file.
    /// \throws ConfigError naming the file (and the line) when it cannot be read, a line has
    /// no `=`, a key is empty, has characters a key cannot have, or is repeated. The message
    /// names the key where it is a valid key name, and never contains a value or the line's
    /// text (a line without `=` may be a value on its own).
    static ProducerConfig from_file(const std::filesystem::path& path);

    /// \brief Parses properties text; `source` names it in error messages.
    /// \throws ConfigError as from_file.
    static ProducerConfig from_string(std::string_view text, std::string_view source = "<string>");

    /// \brief Sets `key` (replacing its value in place if present, else appending). Chainable.
    ProducerConfig& set(std::string key, std::string value);
    /// \brief Sets every property of `other`, in its order (later wins).
    ProducerConfig& merge(const ProducerConfig& other);
    /// \brief The value of `key`, if set.
    std::optional<std::string> get(std::string_view key) const;
    /// \brief True when `key` is set.
    bool contains(std::string_view key) const { return get(key).has_value(); }
    /// \brief All properties in order.
    const std::vector<Property>& properties() const noexcept { return properties_; }

    /// \brief `key=value` lines, one per property, in order; the value of every key that is
    /// not on the allow-list (see is_printable()) is shown as `***`.
    std::string redacted() const;

    /// \brief True for the allow-listed keys whose values are harmless and may be printed
    /// (in redacted() and in error messages). Matching is exact and case-sensitive, as in
    /// librdkafka: a misspelt key (`sasl.pasword`) or an unknown one is not printable.
    ///
    /// The allow-list: connection and identity (`bootstrap.servers`, `metadata.broker.list`,
    /// `client.id`, `client.rack`, `client.dns.lookup`, `broker.address.family`,
    /// `broker.address.ttl`, `broker.version.fallback`, `api.version.request`,
    /// `api.version.request.timeout.ms`, `api.version.fallback.ms`, `security.protocol`,
    /// `sasl.mechanism`, `sasl.mechanisms`, `sasl.oauthbearer.method`,
    /// `enable.sasl.oauthbearer.unsecure.jwt`, `sasl.kerberos.service.name`,
    /// `sasl.kerberos.min.time.before.relogin`, `ssl.endpoint.identification.algorithm`,
    /// `enable.ssl.certificate.verification`, `ssl.cipher.suites`, `ssl.curves.list`,
    /// `ssl.sigalgs.list`); file locations, which name a secret but do not hold it
    /// (`ssl.ca.location`, `ssl.ca.certificate.stores`, `ssl.certificate.location`,
    /// `ssl.crl.location`, `ssl.key.location`, `ssl.keystore.location`); producing (`acks`,
    /// `request.required.acks`, `enable.idempotence`, `enable.gapless.guarantee`, `linger.ms`,
    /// `queue.buffering.max.ms`, `batch.size`, `batch.num.messages`, `compression.type`,
    /// `compression.codec`, `compression.level`, `partitioner`, `sticky.partitioning.linger.ms`,
    /// `message.max.bytes`, `message.copy.max.bytes`, `receive.message.max.bytes`,
    /// `message.timeout.ms`, `delivery.timeout.ms`, `request.timeout.ms`, `transaction.timeout.ms`,
    /// `queue.buffering.max.messages`, `queue.buffering.max.kbytes`,
    /// `queue.buffering.backpressure.threshold`, `max.in.flight`,
    /// `max.in.flight.requests.per.connection`, `retries`, `message.send.max.retries`,
    /// `retry.backoff.ms`, `retry.backoff.max.ms`, `delivery.report.only.error`); sockets and
    /// reconnects (`socket.timeout.ms`, `socket.connection.setup.timeout.ms`,
    /// `socket.keepalive.enable`, `socket.nagle.disable`, `socket.max.fails`,
    /// `socket.send.buffer.bytes`, `socket.receive.buffer.bytes`, `connections.max.idle.ms`,
    /// `reconnect.backoff.ms`, `reconnect.backoff.max.ms`, `reconnect.backoff.jitter.ms`);
    /// metadata (`topic.metadata.refresh.interval.ms`, `topic.metadata.refresh.fast.interval.ms`,
    /// `topic.metadata.refresh.sparse`, `topic.metadata.propagation.max.ms`,
    /// `metadata.max.age.ms`, `allow.auto.create.topics`); diagnostics (`debug`, `log_level`,
    /// `log.queue`, `log.thread.name`, `log.connection.close`, `statistics.interval.ms`);
    /// reading back (`group.id`, `auto.offset.reset`, `enable.auto.commit`,
    /// `enable.partition.eof`); and `test.mock.num.brokers`.
    ///
    /// Everything else is treated as secret: passwords, inline keys and certificates (`*.pem`),
    /// JAAS and OAuth settings, user names and principals, and any key we do not know.
    static bool is_printable(std::string_view key) noexcept;

    /// \brief True for every key whose value must never be printed: `!is_printable(key)`.
    static bool is_secret(std::string_view key) noexcept { return !is_printable(key); }

private:
    std::vector<Property> properties_;
};

}  // namespace kafka_log
