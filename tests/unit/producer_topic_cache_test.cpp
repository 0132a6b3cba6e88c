// SPDX-License-Identifier: Apache-2.0
// TopicCache: one handle per topic name, made on first use, the same one for every thread.

#include "../../src/core/producer/topic_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace kafka_log::detail {
namespace {

HandlePtr offline_client() {
    ConfPtr conf(rd_kafka_conf_new());
    char errstr[256];
    EXPECT_EQ(
        rd_kafka_conf_set(conf.get(), "bootstrap.servers", "127.0.0.1:1", errstr, sizeof errstr),
        RD_KAFKA_CONF_OK);
    HandlePtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr));
    if (rk) conf.release();
    return rk;
}

TEST(TopicCacheTest, OneHandlePerTopicName) {
    HandlePtr client = offline_client();
    ASSERT_TRUE(client);
    TopicCache topics(client.get());
    rd_kafka_topic_t* logs = topics.handle("logs");
    ASSERT_NE(logs, nullptr);
    EXPECT_STREQ(rd_kafka_topic_name(logs), "logs");
    rd_kafka_topic_t* audit = topics.handle("audit");
    ASSERT_NE(audit, nullptr);
    EXPECT_NE(audit, logs);
    EXPECT_EQ(topics.handle("logs"), logs) << "found again, not the last one made";
    EXPECT_EQ(topics.handle(std::string("audit")), audit);
}

TEST(TopicCacheTest, ThreadsAskingForOneTopicGetOneHandle) {
    HandlePtr client = offline_client();
    ASSERT_TRUE(client);
    TopicCache topics(client.get());
    std::vector<rd_kafka_topic_t*> seen(8, nullptr);
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        threads.emplace_back([&, i] {
            while (!go.load()) std::this_thread::yield();
            for (int n = 0; n < 100; ++n) topics.handle(n % 2 == 0 ? "even" : "odd");
            seen[i] = topics.handle("shared");
        });
    }
    go.store(true);
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(std::set<rd_kafka_topic_t*>(seen.begin(), seen.end()).size(), 1u);
    EXPECT_NE(seen[0], nullptr);
}

}  // namespace
}  // namespace kafka_log::detail
