// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/json_writer.hpp"

#include "../../src/detail/record_id.hpp"
#include "../../src/detail/rfc3339_time.hpp"
#include "kafka_log/json_encoder.hpp"  // the former name, JsonEncoder

#include <sys/wait.h>
#include <unistd.h>

#include <limits>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <type_traits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace kafka_log {
namespace {

using ::testing::MatchesRegex;

/// `s` escaped, without the quotes quote() puts around it.
std::string escaped(std::string_view s) {
    const std::string quoted = JsonWriter::quote(s);
    return quoted.substr(1, quoted.size() - 2);
}

std::string rfc3339(std::chrono::system_clock::time_point t, bool utc) {
    char text[detail::rfc3339_room];
    return std::string(text, detail::write_rfc3339(text, t, utc, false));
}

TEST(JsonWriterTest, GoldenObjectWithEveryValueKind) {
    std::string out;
    JsonWriter json(out);
    json.begin_object();
    json.key("level");
    json.string("info");
    json.key("Answer");
    json.number(42);
    json.key("Negative");
    json.number(std::int64_t{-7});
    json.key("Big");
    json.number(std::numeric_limits<std::uint64_t>::max());
    json.key("Ratio");
    json.number(0.25);
    json.key("ok");
    json.boolean(true);
    json.key("none");
    json.null();
    json.key("scopes");
    json.begin_array();
    json.string("main");
    json.string("handle");
    json.begin_object();
    json.end_object();
    json.end_array();
    json.key("empty");
    json.begin_array();
    json.end_array();
    json.end_object();
    EXPECT_EQ(out, R"({"level":"info","Answer":42,"Negative":-7,"Big":18446744073709551615,)"
                   R"("Ratio":0.25,)"
                   R"("ok":true,"none":null,"scopes":["main","handle",{}],"empty":[]})");
}

TEST(JsonWriterTest, EscapesQuotesBackslashesAndControlCharacters) {
    EXPECT_EQ(escaped("a\"b\\c"), R"(a\"b\\c)");
    EXPECT_EQ(escaped("line1\nline2\r\t\b\f"), R"(line1\nline2\r\t\b\f)");
    EXPECT_EQ(escaped(std::string("\x00\x01\x1f", 3)), R"(\u0000\u0001\u001f)");
    EXPECT_EQ(escaped("\x7f"), "\x7f") << "DEL needs no escape in JSON";
}

TEST(JsonWriterTest, KeepsValidUtf8AndReplacesInvalidWithReplacementCharacter) {
    EXPECT_EQ(escaped("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"),
              "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80");
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(escaped("\xFF"), fffd);
    EXPECT_EQ(escaped("a\xC3"), "a" + fffd) << "truncated sequence";
    EXPECT_EQ(escaped("\xC0\xAF"), fffd + fffd) << "overlong encoding";
    EXPECT_EQ(escaped("\xED\xA0\x80"), fffd + fffd + fffd) << "UTF-16 surrogate";
    EXPECT_EQ(escaped("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd) << "above U+10FFFF";
    EXPECT_EQ(escaped("\x80x"), fffd + "x") << "stray continuation byte";
}

TEST(JsonWriterTest, NonFiniteNumbersBecomeStrings) {
    std::string out;
    JsonWriter json(out);
    json.begin_array();
    json.number(std::numeric_limits<double>::quiet_NaN());
    json.number(std::numeric_limits<double>::infinity());
    json.number(-std::numeric_limits<double>::infinity());
    json.number(1e300);
    json.end_array();
    EXPECT_EQ(out, R"(["NaN","Infinity","-Infinity",1e+300])");
    EXPECT_TRUE(nlohmann::json::accept(out));
}

TEST(JsonWriterTest, Rfc3339WithMillisecondsAndOffset) {
    // 2026-11-24T23:10:46.518Z
    const std::chrono::system_clock::time_point t{std::chrono::milliseconds(1795561846518LL)};
    EXPECT_EQ(rfc3339(t, true), "2026-11-24T23:10:46.518+00:00");
    EXPECT_THAT(rfc3339(t, false),
                MatchesRegex(R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})"
                             R"(\.518[+-][0-9]{2}:[0-9]{2}$)"));
    EXPECT_EQ(rfc3339(std::chrono::system_clock::time_point{std::chrono::milliseconds(-1)}, true),
              "1969-12-31T23:59:59.999+00:00");
}

TEST(JsonWriterTest, RecordIdsAreUniqueAndNameHostAndPid) {
    std::set<std::string> ids;
    for (int i = 0; i < 1000; ++i) ids.insert(detail::RecordIds::instance().next_id());
    EXPECT_EQ(ids.size(), 1000u);
    EXPECT_THAT(*ids.begin(), MatchesRegex(".+-" + std::to_string(::getpid()) + "-[0-9]+"));
}

TEST(JsonWriterTest, RecordIdIsWrittenInPlaceAsAStringValue) {
    std::string out;
    JsonWriter json(out);
    json.begin_object();
    json.key("id");
    json.record_id();
    json.key("next");
    json.record_id();
    json.end_object();
    const auto j = nlohmann::json::parse(out);
    const std::string pid = std::to_string(::getpid());
    EXPECT_THAT(j["id"].get<std::string>(), MatchesRegex(".+-" + pid + "-[0-9]+"));
    EXPECT_THAT(j["next"].get<std::string>(), MatchesRegex(".+-" + pid + "-[0-9]+"));
    EXPECT_NE(j["id"], j["next"]);
}

// A forked child (a pre-forking server, say) names its own pid in its ids, even on the thread
// that had taken a block of ids before the fork.
TEST(JsonWriterTest, ForkedChildNamesItsOwnPid) {
    const std::string parent_id = detail::RecordIds::instance().next_id();
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const std::string id = detail::RecordIds::instance().next_id();
        const bool ok =
            ::write(pipe_fds[1], id.data(), id.size()) == static_cast<ssize_t>(id.size());
        ::_exit(ok ? 0 : 1);
    }
    ::close(pipe_fds[1]);
    std::string child_id;
    char buf[512];
    for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) {
        child_id.append(buf, static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_THAT(parent_id, MatchesRegex(".+-" + std::to_string(::getpid()) + "-[0-9]+"));
    EXPECT_THAT(child_id, MatchesRegex(".+-" + std::to_string(child) + "-[0-9]+"));
}

// Random bytes in keys and values: a real JSON parser reads the line back, and valid UTF-8
// input comes back unchanged.
TEST(JsonWriterTest, RandomBytesAlwaysGiveValidJsonOnOneLine) {
    std::mt19937 rng(20261124);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> length(0, 64);
    for (int round = 0; round < 5000; ++round) {
        std::string key(static_cast<std::size_t>(length(rng)), '\0');
        std::string value(static_cast<std::size_t>(length(rng)), '\0');
        for (char& c : key) c = static_cast<char>(byte(rng));
        for (char& c : value) c = static_cast<char>(byte(rng));
        std::string out;
        JsonWriter json(out);
        json.begin_object();
        json.key("k:" + key);  // never equal to "n"
        json.string(value);
        json.key("n");
        json.number(round);
        json.end_object();
        ASSERT_EQ(out.find('\n'), std::string::npos);
        nlohmann::json parsed;
        ASSERT_NO_THROW(parsed = nlohmann::json::parse(out)) << out;
        ASSERT_EQ(parsed.size(), 2u);
        ASSERT_EQ(parsed["n"], round);
    }
}

TEST(JsonWriterTest, ValidUtf8RoundTripsThroughAParser) {
    std::mt19937 rng(7);
    const std::vector<std::string> pieces = {"a",
                                             "\"",
                                             "\\",
                                             "\n",
                                             "\t",
                                             std::string(1, '\0'),
                                             "\x01",
                                             "\xC3\xA9",
                                             "\xE2\x82\xAC",
                                             "\xF0\x9F\x98\x80",
                                             "/",
                                             " ",
                                             "\x7f"};
    std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
    for (int round = 0; round < 2000; ++round) {
        std::string value;
        for (int i = 0; i < 20; ++i) value += pieces[pick(rng)];
        std::string out;
        JsonWriter json(out);
        json.begin_array();
        json.string(value);
        json.end_array();
        const auto parsed = nlohmann::json::parse(out);
        ASSERT_EQ(parsed[0].get<std::string>(), value);
    }
}

// --- the writer's own API: pre-encoded pieces, commas, the cursor's contract -------------

TEST(JsonWriterTest, PreEncodedKeysAndValuesGetTheSameCommasAsOthers) {
    const std::string level_key = JsonWriter::quote("level");
    const std::string info = JsonWriter::quote("info");
    EXPECT_EQ(level_key, R"("level")");
    EXPECT_EQ(JsonWriter::quote("a\"b\n"), R"("a\"b\n")");
    std::string out;
    JsonWriter json(out);
    json.begin_object();
    json.raw_key(level_key);
    json.raw_value(info);
    json.raw_key(JsonWriter::quote("list"));
    json.begin_array();
    json.raw_value("1");
    json.raw_value(info);
    json.null();
    json.end_array();
    json.key("k");
    json.raw_value("{}");
    json.end_object();
    EXPECT_EQ(out, R"({"level":"info","list":[1,"info",null],"k":{}})");
}

TEST(JsonWriterTest, AppendsAfterWhatTheStringHeldAndGrowsPastTheExpectedSize) {
    std::string out = "prefix ";
    const std::string long_value(1000, 'x');
    {
        JsonWriter json(out, 4);
        json.begin_array();
        json.string(long_value);
        json.number(-1);
        json.end_array();
    }
    EXPECT_EQ(out, "prefix [\"" + long_value + "\",-1]");
}

TEST(JsonWriterTest, StringIsExactOnceTheOutermostContainerClosesAndWhenTheWriterIsGone) {
    std::string out;
    {
        JsonWriter json(out, 256);
        json.begin_object();
        json.key("a");
        json.begin_object();
        json.key("b");
        json.boolean(false);
        json.end_object();
        json.end_object();
        EXPECT_EQ(out, R"({"a":{"b":false}})") << "read while the writer is alive";
        json.begin_array();  // a second top-level value starts afresh: no comma
        json.end_array();
        EXPECT_EQ(out, R"({"a":{"b":false}}[])");
        json.string("top");
    }
    EXPECT_EQ(out, R"({"a":{"b":false}}[]"top")");
}

TEST(JsonWriterTest, EveryIntegerTypeAndDoublesAsNumbers) {
    std::string out;
    JsonWriter json(out);
    json.begin_array();
    json.number(static_cast<signed char>(-5));
    json.number(static_cast<unsigned short>(65535));
    json.number(std::numeric_limits<long long>::min());
    json.number(std::numeric_limits<unsigned long>::max());
    json.number(1.5f);
    json.number(-0.0);
    json.end_array();
    EXPECT_EQ(out, "[-5,65535,-9223372036854775808,18446744073709551615,1.5,-0]");
    EXPECT_TRUE(nlohmann::json::accept(out));
}

TEST(JsonWriterTest, TimeIsAQuotedRfc3339String) {
    const std::chrono::system_clock::time_point t{std::chrono::milliseconds(1795561846518LL)};
    std::string out;
    JsonWriter json(out);
    json.begin_object();
    json.key("t");
    json.time(t);
    json.key("local");
    json.time(t, false);
    json.end_object();
    const auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["t"], "2026-11-24T23:10:46.518+00:00");
    EXPECT_THAT(j["local"].get<std::string>(),
                MatchesRegex(R"(^.{19}\.518[+-][0-9]{2}:[0-9]{2}$)"));
}

TEST(JsonWriterTest, JsonEncoderIsTheFormerNameOfJsonWriter) {
    static_assert(std::is_same_v<JsonEncoder, JsonWriter>);
    std::string out;
    JsonEncoder json(out);
    json.begin_object();
    json.key("ok");
    json.boolean(true);
    json.end_object();
    EXPECT_EQ(out, R"({"ok":true})");
}

}  // namespace
}  // namespace kafka_log
