// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/producer_config.hpp"

#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../../src/detail/secret_scrub.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

using ::testing::AllOf;
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
    EXPECT_THAT(config.properties(),
                ElementsAre(Pair("bootstrap.servers", "broker1:9092,broker2:9092"),
                            Pair("linger.ms", "5"), Pair("sasl.jaas.config", "a=b=c")));
    EXPECT_EQ(config.get("linger.ms"), "5");
    EXPECT_EQ(config.get("missing"), std::nullopt);
}

TEST(ProducerConfigTest, LineWithoutEqualsNamesSourceAndLineButNotItsText) {
    try {
        ProducerConfig::from_string("linger.ms=5\n\nacks S3CRET\n", "kafka.properties");
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.line(), 3);
        EXPECT_EQ(e.source(), "kafka.properties");
        EXPECT_EQ(e.key(), "acks") << "an allow-listed first word is surely a key name";
        EXPECT_THAT(e.what(), HasSubstr("kafka.properties:3"));
        EXPECT_THAT(e.what(), HasSubstr("'acks'"));
        EXPECT_THAT(e.what(), Not(HasSubstr("S3CRET")));
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
    for (const char* secret : {"p1", "p2", "p3", "p4", "p5", "p6"})
        EXPECT_THAT(text, Not(HasSubstr(secret)));
}

TEST(ProducerConfigTest, SetReplacesInPlaceAndMergeOverrides) {
    ProducerConfig config{{"a", "1"}, {"b", "2"}};
    config.set("a", "10");
    config.merge(ProducerConfig{{"c", "3"}, {"b", "20"}});
    EXPECT_THAT(config.properties(), ElementsAre(Pair("a", "10"), Pair("b", "20"), Pair("c", "3")));
}

// --- secrets: only allow-listed keys' values are ever printed --------------------------------

constexpr const char* jaas_config =
    "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" "
    "password=\"S3CRET\";";

/// The message of the ConfigError that from_string throws for `text`.
std::string parse_error(const std::string& text) {
    try {
        ProducerConfig::from_string(text, "p");
    } catch (const ConfigError& e) {
        return e.what();
    }
    ADD_FAILURE() << "no ConfigError for:\n" << text;
    return {};
}

TEST(ProducerConfigTest, MisspeltSecretKeyIsRedacted) {
    const auto config =
        ProducerConfig::from_string("bootstrap.servers=b:9092\nsasl.pasword=S3CRET\n");
    EXPECT_THAT(config.redacted(), HasSubstr("sasl.pasword=***\n"));
    EXPECT_THAT(config.redacted(), Not(HasSubstr("S3CRET")));
}

TEST(ProducerConfigTest, JaasConfigIsRedacted) {
    const auto config =
        ProducerConfig::from_string(std::string("sasl.jaas.config=") + jaas_config + "\n");
    ASSERT_EQ(config.get("sasl.jaas.config"), jaas_config);
    EXPECT_THAT(config.redacted(), HasSubstr("sasl.jaas.config=***\n"));
    EXPECT_THAT(config.redacted(), Not(HasSubstr("S3CRET")));
}

TEST(ProducerConfigTest, EmptyKeyLineErrorNamesTheLineNotTheValue) {
    const std::string what = parse_error("linger.ms=5\n=S3CRET\n");
    EXPECT_THAT(what, AllOf(HasSubstr("p:2"), HasSubstr("empty key")));
    EXPECT_THAT(what, Not(HasSubstr("S3CRET")));
}

TEST(ProducerConfigTest, EmptyKeySetInCodeIsRedacted) {
    ProducerConfig config;
    config.set("", "S3CRET");
    EXPECT_EQ(config.redacted(), "=***\n");
}

TEST(ProducerConfigTest, RepeatedSecretKeysAreNamedWithoutTheirValues) {
    std::string what = parse_error("sasl.pasword=S3CRET\nsasl.pasword=S3CRET2\n");
    EXPECT_THAT(what, AllOf(HasSubstr("p:2"), HasSubstr("'sasl.pasword' repeated")));
    EXPECT_THAT(what, Not(HasSubstr("S3CRET")));

    what = parse_error(std::string("sasl.jaas.config=") + jaas_config +
                       "\nsasl.jaas.config=" + jaas_config + "\n");
    EXPECT_THAT(what, AllOf(HasSubstr("p:2"), HasSubstr("'sasl.jaas.config' repeated")));
    EXPECT_THAT(what, Not(HasSubstr("S3CRET")));
}

TEST(ProducerConfigTest, BadLinesNeverEchoAValue) {
    // A value on a line of its own, a secret key without '=', a value that slipped into the key.
    for (const char* text : {"S3CRET\n", "sasl.pasword S3CRET\n", "sasl.password S3CRET=x\n",
                             "sasl.password:S3CRET=x\n", "  \"S3CRET\";\n"}) {
        const std::string what = parse_error(text);
        EXPECT_THAT(what, HasSubstr("p:1")) << text;
        EXPECT_THAT(what, Not(HasSubstr("S3CRET"))) << text;
    }
}

TEST(ProducerConfigTest, AllowListedValuesAreShownAndAllElseIsNot) {
    ProducerConfig config;
    config.set("bootstrap.servers", "b1:9092,b2:9092")
        .set("linger.ms", "5")
        .set("security.protocol", "SASL_SSL")
        .set("sasl.mechanisms", "PLAIN")
        .set("sasl.username", "alice")
        .set("ssl.key.pem", "-----BEGIN PRIVATE KEY-----")
        .set("Bootstrap.Servers", "typo:9092");
    EXPECT_EQ(config.redacted(),
              "bootstrap.servers=b1:9092,b2:9092\n"
              "linger.ms=5\n"
              "security.protocol=SASL_SSL\n"
              "sasl.mechanisms=PLAIN\n"
              "sasl.username=***\n"
              "ssl.key.pem=***\n"
              "Bootstrap.Servers=***\n");
    EXPECT_TRUE(ProducerConfig::is_printable("client.id"));
    EXPECT_TRUE(ProducerConfig::is_printable("test.mock.num.brokers"));
    EXPECT_FALSE(ProducerConfig::is_printable("sasl.password"));
    EXPECT_FALSE(ProducerConfig::is_printable(""));
    EXPECT_TRUE(ProducerConfig::is_secret("sasl.pasword"));
}

TEST(SecretScrubTest, MasksTheValueAsLibrdkafkaQuotesIt) {
    using detail::scrub_value;
    // Whole (also after librdkafka's left-trim), one token of a list, a parsed number.
    EXPECT_EQ(scrub_value("Invalid value for configuration property \"x.y\": S3CRET", "  S3CRET"),
              "Invalid value for configuration property \"x.y\": ***");
    EXPECT_EQ(
        scrub_value("Invalid value \"S3CRET\" for configuration property \"x.y\"", "a, -S3CRET ,b"),
        "Invalid value \"***\" for configuration property \"x.y\"");
    EXPECT_EQ(scrub_value("Invalid value \"pw1\" for configuration property \"x.y\"", "a,-pw1,b"),
              "Invalid value \"***\" for configuration property \"x.y\"")
        << "a token too short to be masked as a piece";
    EXPECT_EQ(
        scrub_value("Configuration property \"x.y\" value 4660 is outside allowed range 0..10\n",
                    "0x1234"),
        "Configuration property \"x.y\" value *** is outside allowed range 0..10\n");
    EXPECT_EQ(scrub_value("No such configuration property: \"x.y\"", "S3CRET"),
              "No such configuration property: \"x.y\"");
    EXPECT_EQ(scrub_value("S3CRET and S3CRET", "S3CRET"), "*** and ***");
    EXPECT_EQ(scrub_value("nothing to hide", ""), "nothing to hide");
}

TEST(SecretScrubTest, MasksPiecesOfTheValue) {
    // librdkafka's error for a bad sasl.oauthbearer.config quotes the rest of it.
    const std::string masked =
        detail::scrub_value("Unrecognized sasl.oauthbearer.config beginning at: bogus S3CRET",
                            "principal=u bogus S3CRET");
    EXPECT_THAT(masked, HasSubstr("sasl.oauthbearer.config beginning at:"));
    EXPECT_THAT(masked, Not(HasSubstr("S3CRET")));
}

TEST(SecretScrubTest, LinesKeepShortValuesButNotLongerOnes) {
    const ProducerConfig config{{"sasl.kerberos.min.time.before.relogin.typo", "1"},
                                {"sasl.username", "S3CR"}};
    EXPECT_EQ(detail::scrub_config("to 127.0.0.1 as S3CR", config, detail::min_value_in_lines),
              "to 127.0.0.1 as ***");
    EXPECT_EQ(detail::scrub_config("to 127.0.0.1 as S3CR", config), "to ***27.0.0.*** as ***");
}

TEST(SecretScrubTest, ReasonKeepsAllowListedValuesAndConfigMasksTheRest) {
    EXPECT_EQ(detail::scrub_reason("bad \"soon\"", "linger.ms", "soon"), "bad \"soon\"");
    EXPECT_EQ(detail::scrub_reason("bad \"soon\"", "sasl.pasword", "soon"), "bad \"***\"");
    const ProducerConfig config{
        {"bootstrap.servers", "b:9092"}, {"k1", "S3CRET"}, {"k2", "S3CRET-LONGER"}};
    EXPECT_EQ(detail::scrub_config("at b:9092: S3CRET-LONGER, S3CRET", config),
              "at b:9092: ***, ***");
}

}  // namespace
}  // namespace kafka_log
