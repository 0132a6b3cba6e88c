// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/mocks/header_checks.hpp"

#include <algorithm>

namespace kafka_log::mocks {

std::optional<std::string_view> header_value(const MessageView& message, std::string_view name) {
    for (const RecordHeader& header : message.headers) {
        if (header.name == name) return header.value;
    }
    return std::nullopt;
}

std::optional<std::string_view> header_value(const ProducedMessage& message,
                                             std::string_view name) {
    for (const auto& [n, value] : message.headers) {
        if (n == name) return std::string_view(value);
    }
    return std::nullopt;
}

MessageChecker has_header(std::string name, std::string value) {
    return [name = std::move(name), value = std::move(value)](const MessageView& message) {
        const std::optional<std::string_view> found = header_value(message, name);
        return found && *found == value;
    };
}

MessageChecker has_headers(std::vector<std::pair<std::string, std::string>> headers) {
    return [headers = std::move(headers)](const MessageView& message) {
        return std::equal(message.headers.begin(), message.headers.end(), headers.begin(),
                          headers.end(), [](const RecordHeader& got, const auto& want) {
                              return got.name == want.first && got.value == want.second;
                          });
    };
}

MessageChecker lacks_header(std::string name) {
    return [name = std::move(name)](const MessageView& message) {
        return !header_value(message, name).has_value();
    };
}

}  // namespace kafka_log::mocks
