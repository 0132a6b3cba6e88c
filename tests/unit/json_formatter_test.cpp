// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/json_formatter.hpp"

#include <unistd.h>

#include <cstdlib>
#include <iomanip>
#include <locale>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/core/null_deleter.hpp>
#include <boost/date_time/posix_time/posix_time.hpp>
#include <boost/log/attributes/clock.hpp>
#include <boost/log/attributes/constant.hpp>
#include <boost/log/attributes/current_thread_id.hpp>
#include <boost/log/attributes/named_scope.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/trivial.hpp>
#include <boost/make_shared.hpp>
#include <nlohmann/json.hpp>

#include "kafka_log/boost_log/clock.hpp"

namespace kafka_log {
namespace {

namespace logging = boost::log;
namespace attrs = boost::log::attributes;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

/// Formats records with a given formatter into lines, through a real Boost.Log sink.
class JsonFormatterTest : public ::testing::Test {
protected:
    void use(logging::formatter formatter) {
        auto backend = boost::make_shared<logging::sinks::text_ostream_backend>();
        backend->add_stream(boost::shared_ptr<std::ostream>(&out_, boost::null_deleter()));
        sink_ = boost::make_shared<
            logging::sinks::synchronous_sink<logging::sinks::text_ostream_backend>>(backend);
        sink_->set_formatter(std::move(formatter));
        logging::core::get()->add_sink(sink_);
    }
    void TearDown() override { logging::core::get()->remove_all_sinks(); }
    std::string take() {
        std::string s = out_.str();
        out_.str("");
        if (!s.empty() && s.back() == '\n') s.pop_back();
        return s;
    }

    std::ostringstream out_;
    boost::shared_ptr<logging::sinks::synchronous_sink<logging::sinks::text_ostream_backend>> sink_;
};

const boost::posix_time::ptime fixed_time(boost::gregorian::date(2026, 11, 24),
                                          boost::posix_time::time_duration(23, 10, 46) +
                                              boost::posix_time::milliseconds(518));

TEST_F(JsonFormatterTest, GoldenRecord) {
    use(json_formatter(JsonOptions{.time_attribute_is_utc = true}));
    logging::sources::severity_logger<logging::trivial::severity_level> logger;
    logger.add_attribute("TimeStamp", attrs::constant<boost::posix_time::ptime>(fixed_time));
    logger.add_attribute("Service", attrs::constant<std::string>("checkout"));
    logger.add_attribute("Answer", attrs::constant<int>(42));
    logger.add_attribute("Ratio", attrs::constant<double>(0.25));
    logger.add_attribute("Cached", attrs::constant<bool>(false));
    BOOST_LOG_SEV(logger, logging::trivial::info) << "order \"7\" placed";
    EXPECT_EQ(
        take(),
        R"({"level":"info","logtime":"2026-11-24T23:10:46.518+00:00","msg":"order \"7\" placed",)"
        R"("Answer":42,"Cached":false,"Ratio":0.25,"Service":"checkout"})");
}

TEST_F(JsonFormatterTest, LocalClockTimeStampReadsAsBoostLogsLocalClock) {
    // The same logtime as with Boost.Log's clock, in a zone with an offset, either side of it.
    const char* old_zone = std::getenv("TZ");
    const std::string saved = old_zone ? old_zone : "";
    ::setenv("TZ", "IST-5:30", 1);
    ::tzset();
    use(json_formatter(JsonOptions{.utc = false}));
    const auto logtime_with = [&](const logging::attribute& clock) {
        logging::sources::logger logger;
        logger.add_attribute("TimeStamp", clock);
        BOOST_LOG(logger) << "t";
        return nlohmann::json::parse(take()).at("logtime").get<std::string>();
    };
    std::string before;
    std::string ours;
    std::string after;
    std::thread([&] {  // a fresh thread: nothing cached from the zone before
        before = logtime_with(attrs::local_clock());
        ours = logtime_with(LocalClock());
        after = logtime_with(attrs::local_clock());
    })
        .join();
    if (old_zone) {
        ::setenv("TZ", saved.c_str(), 1);
    } else {
        ::unsetenv("TZ");
    }
    ::tzset();
    EXPECT_THAT(ours, MatchesRegex(R"(....-..-..T..:..:..\....\+05:30)"));
    EXPECT_LE(before, ours);  // same layout and offset: text order is time order
    EXPECT_LE(ours, after);
}

TEST_F(JsonFormatterTest, AttributesStaySortedAsNewNamesAppearAndBeyondSixteen) {
    use(json_formatter(JsonOptions{.time_attribute_is_utc = true}));
    logging::sources::logger first;
    first.add_attribute("TimeStamp", attrs::constant<boost::posix_time::ptime>(fixed_time));
    first.add_attribute("Mango", attrs::constant<int>(1));
    first.add_attribute("Cherry", attrs::constant<int>(2));
    BOOST_LOG(first) << "a";
    EXPECT_THAT(take(), HasSubstr(R"("msg":"a","Cherry":2,"Mango":1})"));

    // Names first seen now sort among those seen before, on the same thread.
    logging::sources::logger second;
    second.add_attribute("Zucchini", attrs::constant<int>(3));
    second.add_attribute("Mango", attrs::constant<int>(4));
    second.add_attribute("Apple", attrs::constant<int>(5));
    second.add_attribute("Kiwi", attrs::constant<int>(6));
    BOOST_LOG(second) << "b";
    EXPECT_THAT(take(), HasSubstr(R"("msg":"b","Apple":5,"Kiwi":6,"Mango":4,"Zucchini":3})"));

    // More attributes than the formatter keeps on its stack: the order holds all the same.
    logging::sources::logger many;
    std::string expected;
    for (int i = 19; i >= 0; --i) {
        const std::string name = "A" + std::string(i < 10 ? "0" : "") + std::to_string(i);
        many.add_attribute(name, attrs::constant<int>(i));
    }
    for (int i = 0; i < 20; ++i) {
        expected += std::string(",\"A") + (i < 10 ? "0" : "") + std::to_string(i) +
                    "\":" + std::to_string(i);
    }
    BOOST_LOG(many) << "c";
    EXPECT_THAT(take(), HasSubstr(R"("msg":"c")" + expected + "}"));
}

TEST_F(JsonFormatterTest, CustomKeysRecordIdAndIncludeExclude) {
    use(json_formatter(JsonOptions{.level_key = "severity",
                                   .time_key = "@timestamp",
                                   .message_key = "message",
                                   .record_id_key = "_id",
                                   .include = {"Service", "Answer", "Dropped"},
                                   .exclude = {"Dropped"}}));
    logging::sources::severity_logger<logging::trivial::severity_level> logger;
    logger.add_attribute("Service", attrs::constant<std::string>("checkout"));
    logger.add_attribute("Answer", attrs::constant<unsigned long long>(18446744073709551615ULL));
    logger.add_attribute("Dropped", attrs::constant<int>(1));
    logger.add_attribute("NotIncluded", attrs::constant<int>(2));
    BOOST_LOG_SEV(logger, logging::trivial::error) << "m";
    const auto j = nlohmann::json::parse(take());
    EXPECT_EQ(j["severity"], "error");
    EXPECT_EQ(j["message"], "m");
    EXPECT_TRUE(j.contains("@timestamp"));
    EXPECT_THAT(j["_id"].get<std::string>(), MatchesRegex(".+-[0-9]+-[0-9]+"));
    EXPECT_EQ(j["Service"], "checkout");
    EXPECT_EQ(j["Answer"].get<unsigned long long>(), 18446744073709551615ULL);
    EXPECT_FALSE(j.contains("Dropped"));
    EXPECT_FALSE(j.contains("NotIncluded"));
}

TEST_F(JsonFormatterTest, ScopesThreadIdsTimesAndCollidingNames) {
    use(json_formatter());
    logging::core::get()->add_thread_attribute("Scope", attrs::named_scope());
    logging::sources::logger logger;
    logger.add_attribute("ThreadID", attrs::current_thread_id());
    logger.add_attribute("msg", attrs::constant<std::string>("an attribute named like a key"));
    logger.add_attribute("When", attrs::constant<boost::posix_time::ptime>(fixed_time));
    {
        BOOST_LOG_NAMED_SCOPE("outer");
        BOOST_LOG_NAMED_SCOPE("inner");
        BOOST_LOG(logger) << "scoped";
    }
    logging::core::get()->remove_thread_attribute(
        logging::core::get()->get_thread_attributes().find("Scope"));
    const std::string line = take();
    const auto j = nlohmann::json::parse(line);
    EXPECT_FALSE(j.contains("level")) << "no severity attribute, no level";
    EXPECT_EQ(j["msg"], "scoped");
    EXPECT_EQ(j["_msg"], "an attribute named like a key");
    EXPECT_EQ(j["Scope"], nlohmann::json::array({"outer", "inner"}));
    EXPECT_TRUE(j["ThreadID"].is_string());
    EXPECT_THAT(j["When"].get<std::string>(),
                MatchesRegex(R"(2026-11-2[45]T[0-9:]{8}\.518\+00:00)"));
    EXPECT_THAT(j["logtime"].get<std::string>(),
                MatchesRegex(R"([0-9-]{10}T[0-9:]{8}\.[0-9]{3}\+00:00)"));
}

TEST_F(JsonFormatterTest, NamesLikeAKeyWithUnderscoresInFrontNeverShareAKey) {
    // `msg` is written as `_msg`, so `_msg` must not be: each gets one more underscore. With a
    // key that has underscores of its own (`_id`), every name of its stem gets one more than it.
    use(json_formatter(JsonOptions{.record_id_key = "_id"}));
    logging::sources::logger logger;
    for (const char* name : {"msg", "_msg", "__msg", "id", "_id", "logtime"})
        logger.add_attribute(name, attrs::constant<std::string>(std::string("was ") + name));
    BOOST_LOG(logger) << "the message";
    const std::string line = take();
    std::multiset<std::string> keys;
    const auto parsed = nlohmann::json::parse(
        line, [&keys](int depth, nlohmann::json::parse_event_t event, nlohmann::json& value) {
            if (depth == 1 && event == nlohmann::json::parse_event_t::key)
                keys.insert(value.get<std::string>());
            return true;
        });
    EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size()) << line;
    EXPECT_EQ(parsed["msg"], "the message");
    EXPECT_EQ(parsed["_msg"], "was msg");
    EXPECT_EQ(parsed["__msg"], "was _msg");
    EXPECT_EQ(parsed["___msg"], "was __msg");
    EXPECT_EQ(parsed["__id"], "was id");
    EXPECT_EQ(parsed["___id"], "was _id");
    EXPECT_EQ(parsed["_logtime"], "was logtime");
    EXPECT_THAT(parsed["_id"].get<std::string>(), Not(StartsWith("was ")))
        << "the record id keeps its key";
}

TEST(JsonFormatterOptionsTest, TwoFixedKeysThatAreOneJsonKeyAreRefusedByName) {
    try {
        static_cast<void>(json_formatter(JsonOptions{.time_key = "t", .message_key = "t"}));
        FAIL() << "equal keys were accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(), HasSubstr("time_key"));
        EXPECT_THAT(e.what(), HasSubstr("message_key"));
    }
    // Two invalid UTF-8 keys both become U+FFFD: one JSON key.
    EXPECT_THROW(json_formatter(JsonOptions{.level_key = "\xff", .record_id_key = "\xfe"}),
                 std::invalid_argument);
    EXPECT_NO_THROW(json_formatter(JsonOptions{.record_id_key = ""}));
}

enum class AppSeverity { debug, notice, alarm };

struct Money {
    long cents;
};
std::ostream& operator<<(std::ostream& os, const Money& m) {
    return os << m.cents / 100 << "." << m.cents % 100 << " EUR";
}
struct Opaque {};

TEST_F(JsonFormatterTest, UserSeverityTypeAndStreamedAndUnknownTypes) {
    register_json_stream_type<Money>();
    use(json_formatter_for<AppSeverity>(JsonOptions{.level_names = {"debug", "notice", "alarm"}}));
    logging::sources::severity_logger<AppSeverity> logger;
    logger.add_attribute("Price", attrs::constant<Money>(Money{1250}));
    logger.add_attribute("Thing", attrs::constant<Opaque>(Opaque{}));
    BOOST_LOG_SEV(logger, AppSeverity::alarm) << "custom";
    const auto j = nlohmann::json::parse(take());
    EXPECT_EQ(j["level"], "alarm");
    EXPECT_EQ(j["Price"], "12.50 EUR");
    EXPECT_THAT(j["Thing"].get<std::string>(), HasSubstr("Opaque"));
}

// Registered types are rendered through one stream per thread, reused from value to value:
// what one operator<< leaves set on it (base, precision, a locale) must not reach the next.
struct HexByte {
    int v;
};
std::ostream& operator<<(std::ostream& os, const HexByte& h) {
    return os << std::hex << std::showbase << h.v;
}
struct Ratio {
    double v;
};
std::ostream& operator<<(std::ostream& os, const Ratio& r) {
    return os << std::setprecision(2) << std::fixed << r.v;
}
struct Grouped {
    long v;
};
struct Commas : std::numpunct<char> {
    char do_thousands_sep() const override { return ','; }
    std::string do_grouping() const override { return "\3"; }
};
std::ostream& operator<<(std::ostream& os, const Grouped& g) {
    os.imbue(std::locale(os.getloc(), new Commas));
    return os << g.v;
}
struct Count {
    long v;
};
std::ostream& operator<<(std::ostream& os, const Count& c) {
    return os << c.v << '/' << 2.5;
}

TEST_F(JsonFormatterTest, StreamedTypesStartFromAFreshStreamEachValue) {
    register_json_stream_type<HexByte>();
    register_json_stream_type<Ratio>();
    register_json_stream_type<Grouped>();
    register_json_stream_type<Count>();
    use(json_formatter());
    logging::sources::severity_logger<logging::trivial::severity_level> logger;
    // Attributes are written sorted by name: each setter comes right before a Count.
    logger.add_attribute("A1", attrs::constant<HexByte>(HexByte{255}));
    logger.add_attribute("A2", attrs::constant<Count>(Count{1234567}));
    logger.add_attribute("B1", attrs::constant<Ratio>(Ratio{0.125}));
    logger.add_attribute("B2", attrs::constant<Count>(Count{1234567}));
    logger.add_attribute("C1", attrs::constant<Grouped>(Grouped{1234567}));
    logger.add_attribute("C2", attrs::constant<Count>(Count{1234567}));
    for (int round = 0; round < 3; ++round) {
        BOOST_LOG_SEV(logger, logging::trivial::info) << "streamed";
        const auto j = nlohmann::json::parse(take());
        EXPECT_EQ(j["A1"], "0xff");
        EXPECT_EQ(j["B1"], "0.12");
        EXPECT_EQ(j["C1"], "1,234,567");
        for (const char* key : {"A2", "B2", "C2"})
            EXPECT_EQ(j[key], "1234567/2.5") << key << " in round " << round;
    }
}

TEST_F(JsonFormatterTest, RecordIdsFromManyThreadsAreUnique) {
    use(json_formatter(JsonOptions{.record_id_key = "id"}));
    constexpr int threads = 4;
    constexpr int per_thread = 3000;  // more than one block of ids per thread
    std::vector<std::thread> loggers;
    for (int t = 0; t < threads; ++t) {
        loggers.emplace_back([] {
            logging::sources::severity_logger_mt<logging::trivial::severity_level> logger;
            for (int i = 0; i < per_thread; ++i)
                BOOST_LOG_SEV(logger, logging::trivial::info) << "id";
        });
    }
    for (auto& t : loggers) t.join();
    std::set<std::string> ids;
    std::istringstream lines(out_.str());
    for (std::string line; std::getline(lines, line);)
        ids.insert(nlohmann::json::parse(line)["id"].get<std::string>());
    EXPECT_EQ(ids.size(), std::size_t{threads * per_thread});
    EXPECT_THAT(*ids.begin(), MatchesRegex(".+-" + std::to_string(::getpid()) + "-[0-9]+"));
}

TEST_F(JsonFormatterTest, AnyMessageBytesGiveOneValidJsonLine) {
    use(json_formatter());
    logging::sources::severity_logger<logging::trivial::severity_level> logger;
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int round = 0; round < 2000; ++round) {
        std::string message(static_cast<std::size_t>(round % 97), '\0');
        for (char& c : message) c = static_cast<char>(byte(rng));
        BOOST_LOG_SEV(logger, logging::trivial::warning) << message;
        const std::string line = take();
        ASSERT_EQ(line.find('\n'), std::string::npos);
        nlohmann::json j;
        ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
        ASSERT_EQ(j["level"], "warning");
    }
}

}  // namespace
}  // namespace kafka_log
