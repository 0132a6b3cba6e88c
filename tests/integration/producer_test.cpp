// SPDX-License-Identifier: Apache-2.0
// RdKafkaProducer on its own: configuration errors, defaults, the AsyncProducer contract.
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration_support.hpp"

namespace kafka_log::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RdKafkaProducerTest, UnknownPropertyIsAConfigErrorNamingTheKey) {
    try {
        RdKafkaProducer producer(ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"}, {"linger.mss", "5"}});
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "linger.mss");
        EXPECT_THAT(e.what(), HasSubstr("linger.mss"));
        EXPECT_THAT(e.what(), HasSubstr("No such configuration property"));
    }
}

TEST(RdKafkaProducerTest, BadValueIsAConfigErrorNamingKeyAndReason) {
    try {
        RdKafkaProducer producer(ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"}, {"linger.ms", "soon"}});
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "linger.ms");
        EXPECT_THAT(e.what(), HasSubstr("linger.ms"));
        EXPECT_THAT(e.what(), HasSubstr("soon")) << "a non-secret value may be shown";
    }
}

TEST(RdKafkaProducerTest, RejectedSecretValueIsNeverPrinted) {
    // sasl.mechanisms is not secret, but a value librdkafka echoes for a secret key must be masked.
    try {
        RdKafkaProducer producer(ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"},
                                                {"ssl.key.password.bogus", "hunter2-secret-value"}});
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "ssl.key.password.bogus");
        EXPECT_THAT(e.what(), HasSubstr("ssl.key.password.bogus"));
        EXPECT_THAT(e.what(), Not(HasSubstr("hunter2")));
    }
}

TEST(RdKafkaProducerTest, MissingBootstrapServersIsAConfigError) {
    try {
        RdKafkaProducer producer(ProducerConfig{{"linger.ms", "5"}});
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "bootstrap.servers");
    }
}

TEST(RdKafkaProducerTest, LogDefaultsAppliedAndOverridableAndSecretsRedacted) {
    ClientLog log;
    RdKafkaProducer producer(ProducerConfig{{"bootstrap.servers", "127.0.0.1:1"},
                                            {"message.timeout.ms", "7000"},
                                            {"sasl.password", "hunter2"}},
                             log.options());
    const std::string config = producer.redacted_config();
    EXPECT_THAT(config, HasSubstr("enable.idempotence=true"));
    EXPECT_THAT(config, HasSubstr("queue.buffering.max.kbytes=65536"));
    EXPECT_THAT(config, HasSubstr("message.timeout.ms=7000"));
    EXPECT_THAT(config, HasSubstr("sasl.password=***"));
    EXPECT_THAT(config, Not(HasSubstr("hunter2")));
    producer.close(std::chrono::milliseconds(0));
}

TEST(RdKafkaProducerTest, ProduceAfterCloseReturnsClosed) {
    EmbeddedCluster cluster;
    RdKafkaProducer producer(test_config(cluster));
    producer.set_delivery_handler([](const DeliveryReport&) {});
    producer.close(1s);
    producer.close(1s);  // idempotent
    EXPECT_EQ(producer.produce({"t", "", "late"}), ProduceStatus::closed);
    EXPECT_EQ(producer.in_flight(), 0u);
}

TEST(RdKafkaProducerTest, CopiesThePayloadAndReportsEachRecordOnce) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    RdKafkaProducer producer(test_config(cluster));
    std::mutex mutex;
    std::vector<std::string> reported;
    producer.set_delivery_handler([&](const DeliveryReport& r) {
        std::lock_guard lock(mutex);
        EXPECT_FALSE(r.error.has_value()) << r.error->reason;
        reported.emplace_back(r.message.payload);
    });
    std::string buffer;
    for (int i = 0; i < 50; ++i) {
        buffer = "payload-" + std::to_string(i);
        ASSERT_EQ(producer.produce({topic, "key", buffer}), ProduceStatus::accepted);
        buffer.assign(buffer.size(), '#');  // the caller reuses its buffer at once
    }
    ASSERT_TRUE(producer.flush(10s));
    producer.close(1s);
    std::lock_guard lock(mutex);
    EXPECT_EQ(reported.size(), 50u);
    const auto on_topic = cluster.read_all(topic, 10s);
    ASSERT_EQ(on_topic.size(), 50u);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(on_topic[static_cast<std::size_t>(i)], "payload-" + std::to_string(i));
}

TEST(RdKafkaProducerTest, ReportsClusterUnreachableAndReachableAgain) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    ClientLog log;
    RdKafkaProducer producer(test_config(cluster, 2000), log.options());
    std::atomic<int> unreachable{0};
    std::atomic<int> reachable{0};
    std::atomic<int> delivered{0};
    producer.set_delivery_handler([&](const DeliveryReport& r) {
        if (!r.error) ++delivered;
    });
    producer.set_cluster_state_handler([&](ClusterState s) {
        ++(s == ClusterState::reachable ? reachable : unreachable);
    });
    ASSERT_EQ(producer.produce({topic, "", "first"}), ProduceStatus::accepted);
    ASSERT_TRUE(producer.flush(10s));
    cluster.set_broker_down(1);
    ASSERT_TRUE(wait_until([&] { return unreachable.load() > 0; }, 20s));
    cluster.set_broker_up(1);
    ASSERT_EQ(producer.produce({topic, "", "second"}), ProduceStatus::accepted);
    ASSERT_TRUE(wait_until([&] { return reachable.load() > 0; }, 20s));
    producer.close(5s);
    EXPECT_EQ(producer.in_flight(), 0u);
}

TEST(RdKafkaProducerTest, HandlerInstalledAfterTheClusterWasFoundDownIsToldAtOnce) {
    EmbeddedCluster cluster;
    cluster.set_broker_down(1);
    ClientLog log;
    RdKafkaProducer producer(test_config(cluster, 1000), log.options());
    ASSERT_TRUE(wait_until([&] { return producer.cluster_unreachable(); }, 20s));
    std::atomic<int> unreachable{0};
    producer.set_cluster_state_handler([&](ClusterState s) {
        if (s == ClusterState::unreachable) ++unreachable;
    });
    EXPECT_EQ(unreachable.load(), 1) << "told during set_cluster_state_handler";
    producer.close(0ms);
}

}  // namespace
}  // namespace kafka_log::test
