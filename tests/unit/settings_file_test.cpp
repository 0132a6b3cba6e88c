// SPDX-License-Identifier: Apache-2.0
// Settings file mistakes named by file, line, section and parameter: check_settings(),
// init_from_settings_file(), and the factory's Format and Filter parameters.
#include "kafka_log/boost_log/settings_file.hpp"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/log/core.hpp>
#include <boost/log/exceptions.hpp>
#include <boost/log/utility/setup/from_stream.hpp>
#include <boost/log/utility/setup/settings_parser.hpp>

#include "kafka_log/boost_log/settings_factory.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

/// check_settings()'s message for `text`, or nullopt when it accepts it.
template <typename Exception>
std::optional<std::string> check_error(const std::string& text) {
    std::istringstream in(text);
    try {
        check_settings(in, "app.ini");
    } catch (const Exception& e) {
        return std::string(e.what());
    }
    return std::nullopt;
}

/// What Boost.Log's own parser makes of `value` as `[S] A=value`: the value, or nullopt when
/// it refuses the line.
std::optional<std::string> boost_value(const std::string& value) {
    std::istringstream in("[S]\nA=" + value + "\n");
    try {
        const auto read = boost::log::parse_settings(in)["S"]["A"].get();
        return read ? std::optional<std::string>(*read) : std::nullopt;
    } catch (const boost::log::parse_error&) {
        return std::nullopt;
    }
}

TEST(SettingsFileTest, QuotingRuleIsBoostsParsersOwn) {
    // Unquoted: the first character, then letters, digits, '_', '-', '+', '.' only.
    for (const std::string value : {"app-logs", "embedded", "5", "lz4", "SASL_SSL", "SCRAM-SHA-512",
                                    "1.5e+3", "/tmp", "Producer.x", "json"}) {
        EXPECT_EQ(boost_value(value), value) << "Boost.Log reads it whole";
        EXPECT_EQ(check_error<std::exception>("[S]\nA=" + value + "\n"), std::nullopt) << value;
    }
    // Anything else needs quotes: Boost refuses the line, the check names the parameter.
    for (const std::string value : {"/tmp/x.log", "host:9092", "a,b", "%Severity%", "two words",
                                    "app/logs", "a=b", "x\"y", "%Severity%>=info"}) {
        EXPECT_EQ(boost_value(value), std::nullopt) << value;
        EXPECT_THAT(check_error<boost::log::parse_error>("[S]\nA=" + value + "\n"),
                    ::testing::Optional(AllOf(HasSubstr("app.ini:2: parameter 'A' in [S]"),
                                              HasSubstr("must be quoted"))))
            << value;
    }
    // Quoted: anything, with '\' escapes; '#' inside quotes is not a comment.
    const std::vector<std::pair<std::string, std::string>> quoted = {
        {R"("/tmp/x.log")", "/tmp/x.log"},
        {R"("host1:9092,host2:9092")", "host1:9092,host2:9092"},
        {R"("C:\\logs\\app.log")", R"(C:\logs\app.log)"},
        {R"("say \"hi\"")", R"(say "hi")"},
        {R"("x # not a comment")", "x # not a comment"},
        {R"("")", ""},
        {R"("a b"   # a comment)", "a b"}};
    for (const auto& [written, read] : quoted) {
        EXPECT_EQ(boost_value(written), read) << written;
        EXPECT_EQ(check_error<std::exception>("[S]\nA=" + written + "\n"), std::nullopt) << written;
    }
}

TEST(SettingsFileTest, UnquotedPathIsNamedWithFileLineAndTheQuotedForm) {
    const std::string text =
        "[Sinks.Kafka]\nDestination=Kafka\nFallback=/tmp/x.log   # the text fallback\n";
    EXPECT_THAT(check_error<boost::log::parse_error>(text),
                ::testing::Optional(AllOf(HasSubstr("app.ini:3: parameter 'Fallback' in "
                                                    "[Sinks.Kafka]"),
                                          HasSubstr("'/' ends it"),
                                          HasSubstr("write Fallback=\"/tmp/x.log\""))));
    EXPECT_THAT(check_error<boost::log::parse_error>("[S]\nBrokers=host1:9092,host2:9092\n"),
                ::testing::Optional(HasSubstr("write Brokers=\"host1:9092,host2:9092\"")));
}

TEST(SettingsFileTest, SecretProducerValueIsNotEchoedInTheQuotingHint) {
    const auto what =
        check_error<boost::log::parse_error>("[Sinks.Kafka]\nProducer.sasl.password=pa:ss99\n");
    ASSERT_TRUE(what);
    EXPECT_THAT(*what, AllOf(HasSubstr("Producer.sasl.password"), HasSubstr("must be quoted"),
                             Not(HasSubstr("pa:ss99")), Not(HasSubstr("ss99"))));
}

TEST(SettingsFileTest, RepeatedParameterIsNamedWithBothLines) {
    // Boost.Log itself keeps the last value, silently: the reason for the check.
    std::istringstream boost_in("[S]\nTopic=a\nTopic=b\n");
    EXPECT_EQ(boost::log::parse_settings(boost_in)["S"]["Topic"].get().value_or(""), "b");

    EXPECT_THAT(check_error<boost::log::invalid_value>(
                    "[Sinks.Kafka]\nDestination=Kafka\nTopic=a\nBrokers=\"h:1\"\nTopic=b\n"),
                ::testing::Optional(HasSubstr("app.ini:5: parameter 'Topic' in [Sinks.Kafka] is "
                                              "given twice (lines 3 and 5)")));
    // The same section header twice is one section; other sections are apart.
    EXPECT_THAT(
        check_error<boost::log::invalid_value>("[Sinks.A]\nProducer.linger.ms=5\n[Sinks.B]\n"
                                               "Producer.linger.ms=5\n[Sinks.A]\n"
                                               "Producer.linger.ms=10\n"),
        ::testing::Optional(HasSubstr("parameter 'Producer.linger.ms' in [Sinks.A] is given "
                                      "twice (lines 2 and 6)")));
    EXPECT_EQ(check_error<std::exception>("[Sinks.A]\nTopic=a\n[Sinks.B]\nTopic=a\n"),
              std::nullopt);
}

TEST(SettingsFileTest, OtherLinesBoostRefusesAreNamed) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"Topic=a\n", "app.ini:1: parameter 'Topic' before any [Section] header"},
        {"[S]\nTopic\n", "app.ini:2: a parameter line needs '='"},
        {"[S]\nTopic=   # nothing\n", "app.ini:2: parameter 'Topic' in [S] has no value"},
        {"[S]\nFallback=\"/tmp/x.log\n", "no closing '\"'"},
        {"[S]\nA=\"x\" y\n", "unexpected text after the closing quote"},
        {"[S\n", "app.ini:1: section header without ']'"},
        {"[Sinks:Kafka]\n", "may hold only letters, digits and '.'"},
        {"[S]\n1A=b\n", "parameter name '1A' in [S] must start with a letter"}};
    for (const auto& [text, message] : cases) {
        std::istringstream boost_in(text);
        EXPECT_THROW(boost::log::parse_settings(boost_in), boost::log::parse_error) << text;
        EXPECT_THAT(check_error<boost::log::parse_error>(text),
                    ::testing::Optional(HasSubstr(message)))
            << text;
    }
}

class SettingsFileLoadTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { register_boost_log_factory(); }
    void TearDown() override { boost::log::core::get()->remove_all_sinks(); }

    std::filesystem::path write(const std::string& text) {
        const auto path = dir_ / "app.ini";
        std::ofstream(path) << text;
        return path;
    }

    std::string sink(const std::string& extra) const {
        return "[Sinks.Kafka]\nDestination=Kafka\nBrokers=\"127.0.0.1:1\"\nTopic=t\n"
               "CloseTimeout=0\n" +
               extra;
    }

    test::TempDir dir_;
};

TEST_F(SettingsFileLoadTest, QuotedPathWorksAndTheUnquotedOneIsNamedBeforeAnySinkIsMade) {
    const auto fallback = dir_ / "fallback.log";
    init_from_settings_file(write(sink("Fallback=\"" + fallback.string() + "\"\n")));
    EXPECT_TRUE(std::filesystem::exists(fallback)) << "the FileFallback was made";
    boost::log::core::get()->remove_all_sinks();

    const auto path = write(sink("Fallback=" + fallback.string() + "\n"));
    try {
        init_from_settings_file(path);
        FAIL() << "no exception";
    } catch (const boost::log::parse_error& e) {
        EXPECT_THAT(e.what(), AllOf(HasSubstr(path.string() + ":6: parameter 'Fallback'"),
                                    HasSubstr("write Fallback=\"" + fallback.string() + "\"")));
    }
}

TEST_F(SettingsFileLoadTest, FactoryErrorsCarryTheFileName) {
    const auto path = write(sink("Brokerz=x\n"));
    try {
        init_from_settings_file(path);
        FAIL() << "no exception";
    } catch (const boost::log::invalid_value& e) {
        EXPECT_THAT(e.what(), AllOf(HasSubstr(path.string() + ": kafka_log: [Sinks.*] section"),
                                    HasSubstr("unknown parameter 'Brokerz'")));
    }
    EXPECT_THROW(init_from_settings_file(dir_ / "missing.ini"), boost::log::invalid_value);
}

TEST_F(SettingsFileLoadTest, BadFormatAndFilterNameTheParameterTheSectionAndTheReason) {
    std::istringstream format(sink("Format=\"[%TimeStamp%] %Message\"\n"));
    try {
        boost::log::init_from_stream(format);
        FAIL() << "no exception";
    } catch (const boost::log::parse_error& e) {
        EXPECT_THAT(e.what(), AllOf(HasSubstr("Destination=Kafka, Topic=t"),
                                    HasSubstr("parameter 'Format' = \"[%TimeStamp%] %Message\""),
                                    HasSubstr("Invalid attribute placeholder")));
    }
    std::istringstream filter(sink("Filter=\"%Severity% >= \"\n"));
    try {
        boost::log::init_from_stream(filter);
        FAIL() << "no exception";
    } catch (const boost::log::parse_error& e) {
        EXPECT_THAT(e.what(), AllOf(HasSubstr("Destination=Kafka, Topic=t"),
                                    HasSubstr("parameter 'Filter' = \"%Severity% >= \""),
                                    HasSubstr("Operand value is empty")));
    }
    // Through the loader, the file's name comes first.
    try {
        init_from_settings_file(write(sink("Format=\"%%\"\n")));
        FAIL() << "no exception";
    } catch (const boost::log::parse_error& e) {
        EXPECT_THAT(e.what(), AllOf(HasSubstr("app.ini: kafka_log: [Sinks.*]"),
                                    HasSubstr("parameter 'Format'")));
    }
}

}  // namespace
}  // namespace kafka_log
