// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/producer_config.hpp"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace kafka_log {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

TEST(ProducerConfigTest, ParsesKeyValueLinesCommentsBlanksAndTrims) {
    const auto config = ProducerConfig::from_string(
        "# a comment\n"
        "\n"
        "bootstrap.servers = broker1:9092,broker2:9092\n"
        "  linger.ms=5  \r\n"
        "sasl.jaas.config=a=b=c\n");
    EXPECT_THAT(config.properties(), ElementsAre(Pair("bootstrap.servers", "broker1:9092,broker2:9092"),
                                                 Pair("linger.ms", "5"), Pair("sasl.jaas.config", "a=b=c")));
    EXPECT_EQ(config.get("linger.ms"), "5");
    EXPECT_EQ(config.get("missing"), std::nullopt);
}

TEST(ProducerConfigTest, LineWithoutEqualsNamesSourceLineAndText) {
    try {
        ProducerConfig::from_string("linger.ms=5\n\nacks all\n", "kafka.properties");
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.line(), 3);
        EXPECT_EQ(e.source(), "kafka.properties");
        EXPECT_THAT(e.what(), HasSubstr("kafka.properties:3"));
        EXPECT_THAT(e.what(), HasSubstr("'acks all'"));
    }
}

TEST(ProducerConfigTest, EmptyKeyIsAnError) {
    try {
        ProducerConfig::from_string(" = 5\n", "p");
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.line(), 1);
        EXPECT_THAT(e.what(), HasSubstr("empty key"));
    }
}

TEST(ProducerConfigTest, RepeatedKeyNamesBothLines) {
    try {
        ProducerConfig::from_string("acks=all\nlinger.ms=5\nacks=1\n", "p");
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.key(), "acks");
        EXPECT_EQ(e.line(), 3);
        EXPECT_THAT(e.what(), HasSubstr("'acks' repeated (first set on line 1)"));
    }
}

TEST(ProducerConfigTest, BadLineMentioningASecretIsNotEchoed) {
    try {
        ProducerConfig::from_string("sasl.password hunter2\n", "p");
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_THAT(e.what(), Not(HasSubstr("hunter2")));
        EXPECT_THAT(e.what(), HasSubstr("p:1"));
    }
}

TEST(ProducerConfigTest, FromFileReadsAndNamesTheFileInErrors) {
    test::TempDir dir;
    const auto path = dir / "kafka.properties";
    std::ofstream(path) << "bootstrap.servers=b:9092\nbroken line\n";
    try {
        ProducerConfig::from_file(path);
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_THAT(e.what(), HasSubstr(path.string() + ":2"));
    }
    std::ofstream(path, std::ios::trunc) << "bootstrap.servers=b:9092\n";
    EXPECT_EQ(ProducerConfig::from_file(path).get("bootstrap.servers"), "b:9092");
    EXPECT_THROW(ProducerConfig::from_file(dir / "missing.properties"), ConfigError);
}

TEST(ProducerConfigTest, RedactedMasksEverySecret) {
    ProducerConfig config;
    config.set("bootstrap.servers", "b:9092")
        .set("sasl.password", "p1")
        .set("ssl.key.password", "p2")
        .set("ssl.keystore.password", "p3")
        .set("sasl.oauthbearer.client.secret", "p4")
        .set("my.custom.Secret.token", "p5")
        .set("ssl.key.pem", "p6");
    const std::string text = config.redacted();
    EXPECT_THAT(text, HasSubstr("bootstrap.servers=b:9092\n"));
    EXPECT_THAT(text, HasSubstr("sasl.password=***\n"));
    for (const char* secret : {"p1", "p2", "p3", "p4", "p5", "p6"}) EXPECT_THAT(text, Not(HasSubstr(secret)));
}

TEST(ProducerConfigTest, SetReplacesInPlaceAndMergeOverrides) {
    ProducerConfig config{{"a", "1"}, {"b", "2"}};
    config.set("a", "10");
    config.merge(ProducerConfig{{"c", "3"}, {"b", "20"}});
    EXPECT_THAT(config.properties(), ElementsAre(Pair("a", "10"), Pair("b", "20"), Pair("c", "3")));
}

}  // namespace
}  // namespace kafka_log
