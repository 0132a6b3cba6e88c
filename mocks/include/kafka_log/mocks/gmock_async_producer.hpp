// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief GMockAsyncProducer: the AsyncProducer interface as gMock methods.

#include <memory>
#include <source_location>

#include <gmock/gmock.h>

#include "kafka_log/async_producer.hpp"
#include "kafka_log/mocks/mock_async_producer.hpp"

namespace kafka_log::mocks {

/// \brief gMock mock of AsyncProducer, for tests that check call protocols (which methods,
/// how often, in what order). Prefer `testing::NiceMock<GMockAsyncProducer>`; keep
/// `StrictMock` for protocol tests. For record-level scripting, MockAsyncProducer is simpler.
///
/// `delegate_to_fake()` makes every method default to a MockAsyncProducer (`fake()`), so the
/// gMock expectations only observe while the fake keeps the delivery contract.
///
/// Thread safety: as gMock's (expectations set before the code under test runs).
class GMockAsyncProducer : public AsyncProducer {
public:
    GMockAsyncProducer();
    ~GMockAsyncProducer() override;

    MOCK_METHOD(void, set_delivery_handler, (DeliveryHandler handler), (override));
    MOCK_METHOD(ProduceStatus, produce, (const MessageView& message), (override));
    MOCK_METHOD(bool, flush, (std::chrono::milliseconds timeout), (override));
    MOCK_METHOD(void, close, (std::chrono::milliseconds timeout), (override));

    /// \brief Default actions forward to `fake()`; script the fake as usual. `where` stands for
    /// the fake's construction in its reports (see MockAsyncProducer).
    void delegate_to_fake(ErrorReporter& reporter = gtest_reporter(), MockOptions options = {},
                          std::source_location where = std::source_location::current());
    /// \brief The fake behind `delegate_to_fake()`. \pre delegate_to_fake() was called.
    MockAsyncProducer& fake();

private:
    std::unique_ptr<MockAsyncProducer> fake_;
};

}  // namespace kafka_log::mocks
