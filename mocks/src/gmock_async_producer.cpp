// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/mocks/gmock_async_producer.hpp"

#include <stdexcept>

namespace kafka_log::mocks {

GMockAsyncProducer::GMockAsyncProducer() = default;
GMockAsyncProducer::~GMockAsyncProducer() = default;

void GMockAsyncProducer::delegate_to_fake(ErrorReporter& reporter, MockOptions options,
                                          std::source_location where) {
    fake_ = std::make_unique<MockAsyncProducer>(reporter, options, where);
    MockAsyncProducer* fake = fake_.get();
    ON_CALL(*this, set_delivery_handler).WillByDefault([fake](DeliveryHandler handler) {
        fake->set_delivery_handler(std::move(handler));
    });
    ON_CALL(*this, produce).WillByDefault([fake](const MessageView& m) {
        return fake->produce(m);
    });
    ON_CALL(*this, flush).WillByDefault([fake](std::chrono::milliseconds t) {
        return fake->flush(t);
    });
    ON_CALL(*this, close).WillByDefault([fake](std::chrono::milliseconds t) { fake->close(t); });
}

MockAsyncProducer& GMockAsyncProducer::fake() {
    if (!fake_) throw std::logic_error("GMockAsyncProducer::fake(): call delegate_to_fake() first");
    return *fake_;
}

}  // namespace kafka_log::mocks
