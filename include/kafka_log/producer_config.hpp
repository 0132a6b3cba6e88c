// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief ProducerConfig: librdkafka properties, in order, with secrets kept out of messages.

#include <filesystem>
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
/// first `=` (it may contain `=`).
///
/// Thread safety: a value type; concurrent const use is safe.
class KAFKA_LOG_EXPORT ProducerConfig {
public:
    using Property = std::pair<std::string, std::string>;

    ProducerConfig() = default;
    ProducerConfig(std::initializer_list<Property> properties);

    /// \brief Reads a properties file.
    /// \throws ConfigError naming the file (and the line) when it cannot be read, a line has
    /// no `=`, a key is empty or a key is repeated.
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

    /// \brief `key=value` lines with every secret-bearing value shown as `***`.
    std::string redacted() const;

    /// \brief True for keys whose values must never be printed: `sasl.password`,
    /// `ssl.key.password`, `ssl.keystore.password`, `sasl.oauthbearer.client.secret`,
    /// `ssl.key.pem` (a private key), `sasl.oauthbearer.config`, and any key containing
    /// `password` or `secret` (case-insensitive).
    static bool is_secret(std::string_view key) noexcept;

private:
    std::vector<Property> properties_;
};

}  // namespace kafka_log
