// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/mocks/gmock_async_producer.hpp"

#include <memory>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kafka_log/kafka_writer.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

using mocks::GMockAsyncProducer;
using test::Balanced;
using ::testing::_;
using ::testing::InSequence;
using ::testing::NiceMock;
using ::testing::Return;
using ::testing::StrictMock;

using namespace std::chrono_literals;

TEST(GMockAsyncProducerTest, WriterProtocolHandlerFirstThenProduceThenClose) {
    auto producer = std::make_shared<StrictMock<GMockAsyncProducer>>();
    {
        InSequence in_order;
        EXPECT_CALL(*producer, set_delivery_handler(_));
        EXPECT_CALL(*producer, produce(::testing::Field(&MessageView::payload, "rec")))
            .WillOnce(Return(ProduceStatus::queue_full));
        EXPECT_CALL(*producer, close(250ms));
    }
    std::ostringstream text;
    KafkaWriter writer(producer, std::make_shared<StreamFallback>(text),
                       WriterOptions{.topic = "t"});
    writer.write("rec");
    writer.close(250ms);
    EXPECT_EQ(text.str(), "rec\n");
    EXPECT_TRUE(Balanced(writer.stats()));
}

TEST(GMockAsyncProducerTest, DelegateToFakeKeepsTheDeliveryContract) {
    auto producer = std::make_shared<NiceMock<GMockAsyncProducer>>();
    producer->delegate_to_fake();
    producer->fake().expect_input_and_succeed().expect_input_and_fail({5, "no", false});
    EXPECT_CALL(*producer, produce(_)).Times(2);
    std::ostringstream text;
    KafkaWriter writer(producer, std::make_shared<StreamFallback>(text),
                       WriterOptions{.topic = "t"});
    writer.write("ok");
    writer.write("fails");
    writer.close(0ms);
    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.fallback_delivery_failed, 1u);
    EXPECT_EQ(text.str(), "fails\n");
}

}  // namespace
}  // namespace kafka_log
