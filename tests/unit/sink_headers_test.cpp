// SPDX-License-Identifier: Apache-2.0
// SinkOptions::header_attributes: Boost.Log attributes become Kafka headers, their values the
// text the JSON shows, through KafkaSinkBackend and KafkaWriter to the mock; and the settings
// file's Headers= parameter.
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/date_time/posix_time/posix_time.hpp>
#include <boost/log/attributes/constant.hpp>
#include <boost/log/attributes/named_scope.hpp>
#include <boost/log/attributes/scoped_attribute.hpp>
#include <boost/log/core.hpp>
#include <boost/log/exceptions.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/setup/from_stream.hpp>
#include <boost/make_shared.hpp>
#include <nlohmann/json.hpp>

#include "kafka_log/boost_log/json_formatter.hpp"
#include "kafka_log/boost_log/kafka_sink_backend.hpp"
#include "kafka_log/boost_log/settings_factory.hpp"
#include "kafka_log/boost_log/settings_file.hpp"
#include "kafka_log/mocks/header_checks.hpp"
#include "kafka_log/mocks/mock_async_producer.hpp"
#include "kafka_log/spool_reader.hpp"
#include "spool_support.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

namespace logging = boost::log;
namespace attrs = boost::log::attributes;
using mocks::MockAsyncProducer;
using mocks::ProducedMessage;
using test::Balanced;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Pair;

using namespace std::chrono_literals;

const boost::posix_time::ptime fixed_time(boost::gregorian::date(2026, 11, 24),
                                          boost::posix_time::time_duration(23, 10, 46) +
                                              boost::posix_time::milliseconds(518));

class SinkHeadersTest : public ::testing::Test {
protected:
    void TearDown() override { logging::core::get()->remove_all_sinks(); }

    /// An unlocked sink with the JSON formatter and `options`, on a writer to `producer`.
    std::shared_ptr<KafkaWriter> add_sink(std::shared_ptr<MockAsyncProducer> producer,
                                          SinkOptions options, JsonOptions json = {}) {
        auto writer = std::make_shared<KafkaWriter>(std::move(producer),
                                                    std::make_shared<StreamFallback>(text_),
                                                    WriterOptions{.topic = "logs"});
        options.header_format = json;
        auto sink = boost::make_shared<logging::sinks::unlocked_sink<KafkaSinkBackend>>(
            boost::make_shared<KafkaSinkBackend>(writer, std::move(options)));
        sink->set_formatter(json_formatter(json));
        logging::core::get()->add_sink(sink);
        return writer;
    }

    std::ostringstream text_;  // outlives the writers (removed in TearDown)
};

/// The text of `key`'s value in a JSON line as written (`"a"` quotes included, `42`, `0.25`).
std::string raw_json_value(const std::string& line, const std::string& key) {
    const std::string at = "\"" + key + "\":";
    const std::size_t begin = line.find(at);
    if (begin == std::string::npos) return "<absent>";
    std::size_t end = begin + at.size();
    int depth = 0;
    bool in_string = false;
    for (; end < line.size(); ++end) {
        const char c = line[end];
        if (in_string) {
            if (c == '\\') {
                ++end;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            ++depth;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        } else if ((c == ',' || c == '}') && depth == 0) {
            break;
        }
    }
    return line.substr(begin + at.size(), end - begin - at.size());
}

TEST_F(SinkHeadersTest, AttributesBecomeHeadersRenderedAsTheJsonShowsThemWithoutQuoting) {
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_succeed();
    auto writer =
        add_sink(producer,
                 SinkOptions{.header_attributes = {"TraceID", "Answer", "Ratio", "Cached", "When",
                                                   "Severity", "Missing", "Big", "Scope"}},
                 JsonOptions{.time_attribute_is_utc = true});
    logging::sources::severity_logger<logging::trivial::severity_level> logger;
    const std::string trace = "4bf92f35 \"quoted\"\n\\ tab\t and bad \xff byte";
    logger.add_attribute("TraceID", attrs::constant<std::string>(trace));
    logger.add_attribute("Answer", attrs::constant<int>(-42));
    logger.add_attribute("Ratio", attrs::constant<double>(0.25));
    logger.add_attribute("Cached", attrs::constant<bool>(false));
    logger.add_attribute("When", attrs::constant<boost::posix_time::ptime>(fixed_time));
    logger.add_attribute("Big", attrs::constant<unsigned long long>(18446744073709551615ULL));
    logger.add_attribute("Scope", attrs::named_scope());
    {
        BOOST_LOG_NAMED_SCOPE("outer");
        BOOST_LOG_SEV(logger, logging::trivial::warning) << "with headers";
    }
    writer->close(0ms);

    const std::vector<ProducedMessage> produced = producer->produced();
    ASSERT_EQ(produced.size(), 1u);
    const ProducedMessage& m = produced[0];
    // In the configured order, Missing (absent from the record) left out.
    EXPECT_THAT(m.headers,
                ElementsAre(Pair("TraceID", trace), Pair("Answer", "-42"), Pair("Ratio", "0.25"),
                            Pair("Cached", "false"), Pair("When", "2026-11-24T23:10:46.518+00:00"),
                            Pair("Severity", "warning"), Pair("Big", "18446744073709551615"),
                            Pair("Scope", "[\"outer\"]")));
    // The same text as the JSON field, less JSON's quotes (the string alone is raw bytes).
    const auto j = nlohmann::json::parse(m.payload);
    EXPECT_EQ(j["When"], *m.header("When"));
    EXPECT_EQ(j["level"], *m.header("Severity"));
    for (const char* name : {"Answer", "Ratio", "Cached", "Big", "Scope"})
        EXPECT_EQ(raw_json_value(m.payload, name), *m.header(name)) << name;
    EXPECT_TRUE(Balanced(writer->stats()));
    EXPECT_EQ(writer->stats().delivered, 1u);
}

TEST_F(SinkHeadersTest, ARecordWithoutTheAttributesHasNoHeadersAndOneWithoutConfigNone) {
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_with_checker_and_succeed(mocks::has_headers({}))
        .expect_input_with_checker_and_succeed(mocks::has_headers({{"Service", "billing"}}));
    auto writer = add_sink(producer, SinkOptions{.header_attributes = {"TraceID", "Service"}});
    logging::sources::logger plain;
    BOOST_LOG(plain) << "no attributes";
    logging::sources::logger service;
    service.add_attribute("Service", attrs::constant<std::string>("billing"));
    BOOST_LOG(service) << "one attribute";
    writer->close(0ms);
    EXPECT_TRUE(Balanced(writer->stats()));
    EXPECT_EQ(writer->stats().delivered, 2u);
}

TEST_F(SinkHeadersTest, ManyRecordsFromSeveralThreadsEachCarryTheirOwnValues) {
    auto producer = std::make_shared<MockAsyncProducer>();
    constexpr int threads = 4;
    constexpr int per_thread = 200;
    for (int i = 0; i < threads * per_thread; ++i) producer->expect_input_and_succeed();
    auto writer = add_sink(producer, SinkOptions{.header_attributes = {"Thread", "Seq"}});
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([t] {
            logging::sources::logger logger;
            logger.add_attribute("Thread", attrs::constant<int>(t));
            for (int i = 0; i < per_thread; ++i) {
                BOOST_LOG_SCOPED_LOGGER_ATTR(logger, "Seq", attrs::constant<int>(i));
                BOOST_LOG(logger) << t << ":" << i;
            }
        });
    }
    for (auto& w : workers) w.join();
    writer->close(0ms);
    const std::vector<ProducedMessage> produced = producer->produced();
    ASSERT_EQ(produced.size(), static_cast<std::size_t>(threads * per_thread));
    for (const ProducedMessage& m : produced) {
        const auto j = nlohmann::json::parse(m.payload);
        EXPECT_EQ(j["msg"], *m.header("Thread") + ":" + *m.header("Seq")) << m.payload;
    }
    EXPECT_TRUE(Balanced(writer->stats()));
}

/// A type whose operator<< logs a record of its own (through the same sink).
struct Chatty {
    int value;
};
std::ostream& operator<<(std::ostream& os, const Chatty& c) {
    logging::sources::logger inner;
    inner.add_attribute("TraceID", attrs::constant<std::string>("inner"));
    BOOST_LOG(inner) << "inner";
    return os << "chatty-" << c.value;
}

// A header value whose rendering logs: the inner record gets its own headers, and the outer
// record's headers are not disturbed by it.
TEST_F(SinkHeadersTest, AHeaderValueWhoseRenderingLogsKeepsBothRecordsHeaders) {
    register_json_stream_type<Chatty>();
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_succeed().expect_input_and_succeed();
    // Left out of the JSON: Boost.Log's frontend does not format a record within another's
    // formatting on the same thread; the header is rendered after formatting, in `consume`.
    auto writer = add_sink(producer, SinkOptions{.header_attributes = {"TraceID", "Chatty"}},
                           JsonOptions{.exclude = {"Chatty"}});
    logging::sources::logger outer;
    outer.add_attribute("TraceID", attrs::constant<std::string>("outer"));
    outer.add_attribute("Chatty", attrs::constant<Chatty>(Chatty{1}));
    BOOST_LOG(outer) << "outer";
    writer->close(0ms);

    // The inner record, logged while the outer one's headers were rendered, then the outer.
    const std::vector<ProducedMessage> produced = producer->produced();
    ASSERT_EQ(produced.size(), 2u);
    // (Boost.Log's frontend formats a record logged within another's `consume` after the outer
    // one's text, in the same buffer: the inner payload holds both lines. The outer record's
    // payload, copied before its headers were rendered, is whole.)
    EXPECT_THAT(produced[0].payload, HasSubstr(R"("msg":"inner","TraceID":"inner"})"));
    EXPECT_THAT(produced[0].headers, ElementsAre(Pair("TraceID", "inner")));
    EXPECT_EQ(nlohmann::json::parse(produced[1].payload)["msg"], "outer");
    EXPECT_THAT(produced[1].headers,
                ElementsAre(Pair("TraceID", "outer"), Pair("Chatty", "chatty-1")));
    EXPECT_TRUE(Balanced(writer->stats()));
}

TEST_F(SinkHeadersTest, AnEmptyHeaderAttributeNameIsRefusedWithItsIndex) {
    auto writer = std::make_shared<KafkaWriter>(std::make_shared<MockAsyncProducer>(),
                                                std::make_shared<StreamFallback>(text_),
                                                WriterOptions{.topic = "logs"});
    try {
        KafkaSinkBackend backend(writer, SinkOptions{.header_attributes = {"TraceID", ""}});
        ADD_FAILURE() << "an empty name was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(), HasSubstr("header_attributes[1]"));
    }
}

class SettingsHeadersTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { register_boost_log_factory(); }
    void TearDown() override { logging::core::get()->remove_all_sinks(); }
};

// No broker at 127.0.0.1:1: the records are purged into the spool at shutdown, with the
// headers the settings asked for. The value is quoted: Boost's settings parser takes a comma
// only inside quotes.
TEST_F(SettingsHeadersTest, HeadersParameterTurnsTheNamedAttributesIntoHeaders) {
    using Headers = std::vector<std::pair<std::string, std::string>>;
    const Headers both = {{"TraceID", "abc"}, {"Service", "7"}};
    const std::vector<std::pair<std::string, Headers>> cases = {{"\"TraceID,Service\"", both},
                                                                {"\" TraceID , Service \"", both},
                                                                {"TraceID", {{"TraceID", "abc"}}}};
    for (const auto& [value, want] : cases) {
        test::TempDir dir;
        std::istringstream in(
            "[Sinks.Kafka]\nDestination=Kafka\nBrokers=\"127.0.0.1:1\"\n"
            "Topic=t\nSpool=\"" +
            (dir / "spool").string() + "\"\nSpoolReplayRate=0\nCloseTimeout=0\nHeaders=" + value +
            "\n");
        logging::init_from_stream(in);
        logging::sources::logger logger;
        logger.add_attribute("TraceID", attrs::constant<std::string>("abc"));
        logger.add_attribute("Service", attrs::constant<int>(7));
        logger.add_attribute("Other", attrs::constant<int>(8));
        BOOST_LOG(logger) << "one record";
        logging::core::get()->remove_all_sinks();  // closes the writer: purged to the spool

        const std::vector<SpoolRecord> records = test::read_spool_records(dir / "spool");
        ASSERT_EQ(records.size(), 1u) << "Headers=" << value;
        EXPECT_EQ(nlohmann::json::parse(records[0].payload)["msg"], "one record");
        EXPECT_EQ(records[0].headers, want) << "Headers=" << value;
    }
}

TEST_F(SettingsHeadersTest, AnEmptyNameInHeadersIsNamedWithTheParameter) {
    for (const std::string value :
         {"\"TraceID,,Service\"", "\"TraceID, \"", "\",Service\"", "\"\""}) {
        std::istringstream in(
            "[Sinks.Kafka]\nDestination=Kafka\nBrokers=\"127.0.0.1:1\"\nTopic=t\nHeaders=" + value +
            "\n");
        try {
            logging::init_from_stream(in);
            ADD_FAILURE() << "Headers=" << value << " was accepted";
        } catch (const logging::invalid_value& e) {
            EXPECT_THAT(e.what(), AllOf(HasSubstr("parameter 'Headers'"), HasSubstr("is empty"),
                                        HasSubstr("Destination=Kafka, Topic=t")))
                << "Headers=" << value;
        }
        logging::core::get()->remove_all_sinks();
    }
}

// A settings file loaded by init_from_settings_file takes the list unquoted, as a user writes
// it; the check for a stream fed to Boost's own init_from_stream still asks for the quotes.
TEST_F(SettingsHeadersTest, AFileTakesTheHeadersListUnquoted) {
    for (const std::string value : {"TraceID,Service", "TraceID , Service  # two of them"}) {
        test::TempDir dir;
        const auto path = dir / "app.ini";
        const std::string text =
            "[Sinks.Kafka]\nDestination=Kafka\nBrokers=\"127.0.0.1:1\"\n"
            "Topic=t\nSpool=\"" +
            (dir / "spool").string() + "\"\nSpoolReplayRate=0\nCloseTimeout=0\nHeaders=" + value +
            "\n";
        std::ofstream(path) << text;
        check_settings_file(path);
        init_from_settings_file(path);
        logging::sources::logger logger;
        logger.add_attribute("TraceID", attrs::constant<std::string>("abc"));
        logger.add_attribute("Service", attrs::constant<int>(7));
        BOOST_LOG(logger) << "one record";
        logging::core::get()->remove_all_sinks();  // closes the writer: purged to the spool

        const std::vector<SpoolRecord> records = test::read_spool_records(dir / "spool");
        ASSERT_EQ(records.size(), 1u) << "Headers=" << value;
        EXPECT_EQ(records[0].headers, (std::vector<std::pair<std::string, std::string>>{
                                          {"TraceID", "abc"}, {"Service", "7"}}))
            << "Headers=" << value;

        std::istringstream stream(text);
        EXPECT_THROW(check_settings(stream, "stream"), logging::parse_error)
            << "Boost's own parser refuses it: the stream check says so";
    }
    // Only a list of names, and only for a parameter that takes one.
    for (const std::string line : {"Headers=TraceID,/x", "Headers=TraceID,,Service", "Topic=a,b"}) {
        test::TempDir dir;
        const auto path = dir / "app.ini";
        std::ofstream(path) << "[Sinks.Kafka]\nDestination=Kafka\nBrokers=\"127.0.0.1:1\"\n"
                            << line << "\n";
        try {
            init_from_settings_file(path);
            ADD_FAILURE() << line << " was accepted";
        } catch (const logging::parse_error& e) {
            EXPECT_THAT(e.what(), HasSubstr(path.string() + ":4: parameter"));
            EXPECT_THAT(e.what(), HasSubstr("must be quoted")) << line;
        }
        logging::core::get()->remove_all_sinks();
    }
}

}  // namespace
}  // namespace kafka_log
