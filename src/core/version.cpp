// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/version.hpp"

namespace kafka_log {

std::string_view version() noexcept {
    return KAFKA_LOG_VERSION_STRING;
}

int version_number() noexcept {
    return KAFKA_LOG_VERSION;
}

}  // namespace kafka_log
