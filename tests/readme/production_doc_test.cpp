// SPDX-License-Identifier: Apache-2.0
// docs/production.md, as printed: its settings file loads and its C++ code builds the writer.
// The blocks are copied from the page at configure time (tests/readme/CMakeLists.txt). Only
// what names the deployment is replaced: the brokers by a closed loopback port (nothing leaves
// the machine), the credentials file by a copy of the page's, the CA by a directory and the
// spool by a temporary one. librdkafka checks every property, sets up TLS and checks the SASL
// settings when the producer is made.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/log/core.hpp>
#include <boost/log/utility/setup/from_settings.hpp>
#include <boost/log/utility/setup/settings_parser.hpp>

#include "kafka_log/boost_log/settings_factory.hpp"
#include "kafka_log/boost_log/settings_file.hpp"
#include "production_code.hpp"
#include "test_support.hpp"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::filesystem::path page_dir = KAFKA_LOG_PRODUCTION_DIR;
constexpr const char* closed_port = "127.0.0.1:1";  // refused at once, on loopback

std::string read(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class ProductionDoc : public ::testing::Test {
protected:
    ProductionDoc() {
        std::filesystem::copy_file(page_dir / "credentials.properties", credentials_);
        std::filesystem::create_directories(ca_);
    }
    void TearDown() override { boost::log::core::get()->remove_all_sinks(); }

    kafka_log::test::TempDir dir_;
    const std::filesystem::path credentials_ = dir_ / "credentials.properties";
    const std::filesystem::path ca_ = dir_ / "ca";  // ssl.ca.location may name a directory
};

TEST_F(ProductionDoc, SettingsFilePassesTheCheckAndBuildsTheSink) {
    const std::filesystem::path ini = page_dir / "settings.ini";
    kafka_log::check_settings_file(ini);  // quoting, no parameter given twice
    std::istringstream text(read(ini));
    boost::log::settings settings = boost::log::parse_settings(text);
    EXPECT_EQ(settings["Sinks.Kafka.Producer.security.protocol"].get().value_or(""), "SASL_SSL");
    EXPECT_EQ(settings["Sinks.Kafka.Producer.sasl.mechanisms"].get().value_or(""), "SCRAM-SHA-512");
    EXPECT_EQ(settings["Sinks.Kafka.Producer.compression.type"].get().value_or(""), "zstd");
    EXPECT_EQ(settings["Sinks.Kafka.Producer.acks"].get().value_or(""), "all");
    EXPECT_FALSE(settings["Sinks.Kafka.Producer.sasl.password"].get())
        << "the secret is in the credentials file";
    ASSERT_TRUE(settings["Sinks.Kafka.ProducerConfigFile"].get());

    settings["Sinks.Kafka.Brokers"] = closed_port;
    settings["Sinks.Kafka.ProducerConfigFile"] = credentials_.string();
    settings["Sinks.Kafka.Producer.ssl.ca.location"] = ca_.string();
    settings["Sinks.Kafka.Spool"] = (dir_ / "spool").string();
    settings["Sinks.Kafka.CloseTimeout"] = "0";
    kafka_log::register_boost_log_factory();
    boost::log::init_from_settings(settings);  // throws naming any parameter refused
    EXPECT_TRUE(std::filesystem::is_directory(dir_ / "spool"));
}

TEST_F(ProductionDoc, CredentialsFileHoldsOnlyTheSaslCredentials) {
    const kafka_log::ProducerConfig credentials =
        kafka_log::ProducerConfig::from_file(credentials_);
    ASSERT_EQ(credentials.properties().size(), 2u);
    EXPECT_TRUE(credentials.contains("sasl.username"));
    EXPECT_TRUE(credentials.contains("sasl.password"));
}

TEST_F(ProductionDoc, CodeBuildsTheSameProducerAndNeverPrintsThePassword) {
    const kafka_log::ProducerConfig config = production_config(closed_port, credentials_, ca_);
    const std::string shown = config.redacted();
    EXPECT_THAT(shown, HasSubstr("security.protocol=SASL_SSL"));
    EXPECT_THAT(shown, HasSubstr("compression.type=zstd"));
    EXPECT_THAT(shown, HasSubstr("sasl.password=***"));
    EXPECT_THAT(shown, Not(HasSubstr("change-me")));

    auto writer = production_writer(closed_port, credentials_, ca_, dir_ / "spool");
    ASSERT_NE(writer, nullptr);
    writer->close(std::chrono::milliseconds(0));
    EXPECT_TRUE(writer->stats().balanced());
}

}  // namespace
