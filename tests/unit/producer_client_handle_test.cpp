// SPDX-License-Identifier: Apache-2.0
// effective_config and ClientHandle: the log defaults under the user's properties, a missing
// bootstrap.servers or a rejected property refused with the key and never the secret, and the
// queue limits librdkafka applies read back.

#include "../../src/core/producer/client_handle.hpp"

#include <gtest/gtest.h>

#include <string>

#include "../../src/core/producer/callback_bridge.hpp"
#include "../../src/core/producer/client_diagnostics.hpp"
#include "../../src/core/producer/delivery_reports.hpp"
#include "kafka_log/errors.hpp"

namespace kafka_log::detail {
namespace {

/// What a ClientHandle needs around it.
struct Callbacks {
    explicit Callbacks(const ProducerConfig& config)
        : diagnostics([](int, std::string_view, std::string_view) {}, [](int, std::string_view) {},
                      config) {}
    DeliveryReports reports;
    ClientDiagnostics diagnostics;
    CallbackBridge bridge{reports, diagnostics};
};

TEST(EffectiveConfigTest, PutsTheLogDefaultsUnderTheUsersProperties) {
    const ProducerConfig config = effective_config(
        ProducerConfig{{"bootstrap.servers", "b:9092"}, {"message.timeout.ms", "1000"}});
    EXPECT_EQ(config.get("message.timeout.ms"), "1000") << "the user's value wins";
    EXPECT_EQ(config.get("enable.idempotence"), "true");
    EXPECT_EQ(config.get("queue.buffering.max.messages"), "100000");
    EXPECT_EQ(config.get("queue.buffering.max.kbytes"), "65536");
    EXPECT_EQ(config.get("reconnect.backoff.max.ms"), "500");
    EXPECT_EQ(config.get("client.id"), "kafka_log");
}

TEST(EffectiveConfigTest, RefusesAConfigWithoutBootstrapServers) {
    try {
        effective_config(ProducerConfig{{"client.id", "x"}});
        FAIL() << "no bootstrap.servers";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "bootstrap.servers");
    }
}

TEST(ClientHandleTest, RefusesARejectedPropertyNamingTheKeyButNotTheSecret) {
    const ProducerConfig config = effective_config(ProducerConfig{
        {"bootstrap.servers", "127.0.0.1:1"}, {"sasl.password.nonsense", "s3cr3t-value"}});
    Callbacks callbacks(config);
    try {
        ClientHandle handle(config, callbacks.bridge);
        FAIL() << "an unknown property";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "sasl.password.nonsense");
        EXPECT_EQ(std::string(e.what()).find("s3cr3t-value"), std::string::npos) << e.what();
    }
}

TEST(ClientHandleTest, ReadsTheLimitsLibrdkafkaApplies) {
    const ProducerConfig config =
        effective_config(ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"},
                                        {"queue.buffering.max.messages", "50"},
                                        {"queue.buffering.max.kbytes", "2"},
                                        {"message.max.bytes", "10000"}});
    Callbacks callbacks(config);
    ClientHandle handle(config, callbacks.bridge);
    ASSERT_NE(handle.get(), nullptr);
    const QueueLimits limits = handle.limits();
    EXPECT_EQ(limits.max_records, 50u);
    EXPECT_EQ(limits.max_bytes, 2048u);
    EXPECT_EQ(limits.max_record_bytes, 10000u);
}

TEST(ClientHandleTest, TheDefaultsAreTheLimitsWhenTheUserSetsNone) {
    const ProducerConfig config =
        effective_config(ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"}});
    Callbacks callbacks(config);
    ClientHandle handle(config, callbacks.bridge);
    const QueueLimits limits = handle.limits();
    EXPECT_EQ(limits.max_records, 100000u);
    EXPECT_EQ(limits.max_bytes, 65536u * 1024u);
    EXPECT_EQ(limits.max_record_bytes, 1000000u);
}

}  // namespace
}  // namespace kafka_log::detail
