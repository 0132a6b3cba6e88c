// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief Exceptions kafka_log throws while being set up (never on the logging path).

#include <stdexcept>
#include <string>
#include <utility>

#include "kafka_log/export.hpp"

namespace kafka_log {

/// \brief A configuration problem: a bad line in a properties file, a key or value the
/// producer rejects, a missing required setting.
///
/// `what()` names the source, line and key where known. It never contains the value of a key
/// that is not on ProducerConfig's allow-list of harmless keys (ProducerConfig::is_printable()):
/// such values, also where librdkafka's own reason quotes them, are shown as `***`.
class KAFKA_LOG_EXPORT ConfigError : public std::runtime_error {
public:
    ConfigError(std::string message, std::string key = {}, int line = 0, std::string source = {})
        : std::runtime_error(std::move(message)),
          key_(std::move(key)),
          line_(line),
          source_(std::move(source)) {}

    /// \brief The offending key; empty when the problem is not about one key.
    const std::string& key() const noexcept { return key_; }
    /// \brief 1-based line in `source()`; 0 when not from a file or string.
    int line() const noexcept { return line_; }
    /// \brief The file name, or a description of the string the config came from.
    const std::string& source() const noexcept { return source_; }

private:
    std::string key_;
    int line_;
    std::string source_;
};

}  // namespace kafka_log
