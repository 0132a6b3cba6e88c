// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief Checking the Kafka headers of the mocks' inputs: a lookup, MessageCheckers for
/// MockAsyncProducer's `expect_input_with_checker_*` builders, and a gMock matcher for
/// GMockAsyncProducer.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gmock/gmock.h>

#include "kafka_log/async_producer.hpp"
#include "kafka_log/mocks/mock_async_producer.hpp"

namespace kafka_log::mocks {

/// \brief The value of the first header named `name` of `message`; empty when it has none.
std::optional<std::string_view> header_value(const MessageView& message, std::string_view name);

/// \brief The value of the first header named `name` of a recorded input; empty when it has
/// none.
std::optional<std::string_view> header_value(const ProducedMessage& message, std::string_view name);

/// \brief A checker that accepts an input with a header `name` whose value is `value` (the
/// first header of that name counts).
///
/// \code
///   producer.expect_input_with_checker_and_succeed(
///       kafka_log::mocks::has_header("TraceID", "4bf92f35"));
/// \endcode
MessageChecker has_header(std::string name, std::string value);

/// \brief A checker that accepts an input whose headers are exactly `headers`, in order.
MessageChecker has_headers(std::vector<std::pair<std::string, std::string>> headers);

/// \brief A checker that accepts an input with no header named `name`.
MessageChecker lacks_header(std::string name);

/// \brief gMock matcher of a `MessageView` (GMockAsyncProducer's `produce`) or a
/// `ProducedMessage` (`MockAsyncProducer::produced()`): it has a header `name` whose value is
/// `value`.
///
/// \code
///   EXPECT_CALL(producer, produce(kafka_log::mocks::HasHeader("Service", "billing")));
///   EXPECT_THAT(fake.produced(), Each(kafka_log::mocks::HasHeader("Service", "billing")));
/// \endcode
MATCHER_P2(HasHeader, name, value,
           std::string(negation ? "does not have a header " : "has a header ") +
               ::testing::PrintToString(std::string(name)) + " with value " +
               ::testing::PrintToString(std::string(value))) {
    const std::optional<std::string_view> found =
        ::kafka_log::mocks::header_value(arg, std::string_view(name));
    if (!found) {
        *result_listener << "which has no such header";
        return false;
    }
    *result_listener << "whose value is " << ::testing::PrintToString(std::string(*found));
    return *found == std::string_view(value);
}

}  // namespace kafka_log::mocks
