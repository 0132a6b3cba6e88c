// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: a Boost.Log record with a random set of attributes (names, types and values
// from the input, message, severity and time among them or not) and random JsonOptions goes
// through json_formatter. The line must be one JSON object on one line whose keys are all
// distinct, holding every attribute the options keep under its name (or `_name` when it clashes
// with a fixed key), with string and integer values read back unchanged.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <boost/date_time/posix_time/conversion.hpp>
#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/log/attributes/constant.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sinks/basic_sink_backend.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/formatting_ostream.hpp>
#include <boost/make_shared.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kafka_log/boost_log/json_formatter.hpp"
#include "kafka_log/json_writer.hpp"

namespace {

namespace logging = boost::log;

/// The line being checked, printed when a check fails.
const std::string* checked_line = nullptr;

#define CHECK(condition)                                                                           \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            if (checked_line != nullptr)                                                           \
                std::fprintf(stderr, "line: %s\nfailed: %s\n", checked_line->c_str(), #condition); \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (false)

/// Keeps the last record a record view can be taken of.
struct KeepLast : logging::sinks::basic_sink_backend<logging::sinks::concurrent_feeding> {
    void consume(const logging::record_view& r) { last = r; }
    logging::record_view last;
};

bool valid_utf8(const std::string& s) {
    try {
        static_cast<void>(nlohmann::json(s).dump());
        return true;
    } catch (const nlohmann::json::type_error&) {
        return false;
    }
}

/// What the test expects to read back under an attribute's name.
struct Expected {
    std::optional<std::string> text;   // a string value, when valid UTF-8
    std::optional<long long> integer;  // an integer value
    std::optional<bool> boolean;
};

/// The object's keys at depth 1, counted (nlohmann keeps only one of two equal keys).
std::multiset<std::string> top_level_keys(const std::string& line) {
    std::multiset<std::string> keys;
    nlohmann::json::parser_callback_t count =
        [&keys](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
            if (event == nlohmann::json::parse_event_t::key && depth == 1)
                keys.insert(parsed.get<std::string>());
            return true;
        };
    static_cast<void>(nlohmann::json::parse(line, count, /*allow_exceptions=*/false));
    return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    kafka_log::JsonOptions options;
    if (in.ConsumeBool()) options.level_key = in.ConsumeRandomLengthString(8);
    if (in.ConsumeBool()) options.time_key = in.ConsumeRandomLengthString(8);
    if (in.ConsumeBool()) options.message_key = in.ConsumeRandomLengthString(8);
    if (in.ConsumeBool()) options.record_id_key = in.ConsumeRandomLengthString(8);
    options.utc = in.ConsumeBool();
    options.time_attribute_is_utc = in.ConsumeBool();
    if (in.ConsumeBool()) options.exclude.push_back(in.ConsumeRandomLengthString(8));
    if (in.ConsumeBool()) options.include.push_back(in.ConsumeRandomLengthString(8));
    // Two fixed keys that are one JSON key are refused (and only they are).
    std::vector<std::string> fixed_json = {kafka_log::JsonWriter::quote(options.level_key),
                                           kafka_log::JsonWriter::quote(options.time_key),
                                           kafka_log::JsonWriter::quote(options.message_key)};
    if (!options.record_id_key.empty())
        fixed_json.push_back(kafka_log::JsonWriter::quote(options.record_id_key));
    const bool shared =
        std::set<std::string>(fixed_json.begin(), fixed_json.end()).size() != fixed_json.size();
    logging::formatter format;
    try {
        format = kafka_log::json_formatter(options);
        CHECK(!shared);
    } catch (const std::invalid_argument&) {
        CHECK(shared);
        return 0;
    }
    const std::set<std::string> fixed = {options.level_key, options.time_key, options.message_key,
                                         options.record_id_key};
    bool names_valid = std::all_of(fixed.begin(), fixed.end(), valid_utf8);

    logging::attribute_set attributes;
    std::map<std::string, Expected> expected;
    const int count = in.ConsumeIntegralInRange(0, 8);
    for (int i = 0; i < count; ++i) {
        // Boost.Log keeps a name up to its first NUL.
        std::string name = in.ConsumeRandomLengthString(12).c_str();
        if (name.empty()) continue;
        if (in.ConsumeBool()) name = i % 3 == 0 ? "Message" : i % 3 == 1 ? "Severity" : "TimeStamp";
        if (in.ConsumeBool() && !fixed.empty()) {
            // A fixed key with underscores in front: the names the formatter must rename apart.
            name = std::string(in.ConsumeIntegralInRange(0, 3), '_') +
                   *std::next(fixed.begin(),
                              in.ConsumeIntegralInRange<std::size_t>(0, fixed.size() - 1));
            if (name.empty()) continue;
        }
        name = std::string(name.c_str());  // as Boost.Log keeps it
        if (name.empty()) continue;
        names_valid = names_valid && valid_utf8(name);
        Expected e;
        logging::attribute value;
        switch (in.ConsumeIntegralInRange(0, 7)) {
            case 0: {
                std::string s = in.ConsumeRandomLengthString(64);
                if (valid_utf8(s)) e.text = s;
                value = logging::attributes::constant<std::string>(s);
                break;
            }
            case 1: {
                const int v = in.ConsumeIntegral<int>();
                e.integer = v;
                value = logging::attributes::constant<int>(v);
                break;
            }
            case 2: {
                const long long v = in.ConsumeIntegral<long long>();
                e.integer = v;
                value = logging::attributes::constant<long long>(v);
                break;
            }
            case 3:
                value = logging::attributes::constant<double>(in.ConsumeFloatingPoint<double>());
                break;
            case 4: {
                const bool v = in.ConsumeBool();
                e.boolean = v;
                value = logging::attributes::constant<bool>(v);
                break;
            }
            case 5:
                value = logging::attributes::constant<logging::trivial::severity_level>(
                    static_cast<logging::trivial::severity_level>(in.ConsumeIntegralInRange(0, 7)));
                break;
            case 6:
                value = logging::attributes::constant<boost::posix_time::ptime>(
                    boost::posix_time::from_time_t(
                        in.ConsumeIntegralInRange<std::time_t>(-100000000000LL, 300000000000LL)) +
                    boost::posix_time::microseconds(in.ConsumeIntegralInRange(0, 999999)));
                break;
            default:
                value = logging::attributes::constant<char>(in.ConsumeIntegral<char>());
                break;
        }
        if (attributes.insert(name, value).second && name != "Message" && name != "Severity" &&
            name != "TimeStamp")
            expected.emplace(name, e);
    }

    // A record of those attributes, through a sink that keeps it.
    auto backend = boost::make_shared<KeepLast>();
    auto sink = boost::make_shared<logging::sinks::unlocked_sink<KeepLast>>(backend);
    const auto core = logging::core::get();
    core->add_sink(sink);
    if (logging::record record = core->open_record(attributes))
        core->push_record(std::move(record));
    core->remove_sink(sink);
    CHECK(backend->last);

    std::string line;
    logging::formatting_ostream stream(line);
    format(backend->last, stream);
    stream.flush();

    checked_line = &line;
    CHECK(line.find('\n') == std::string::npos);
    const auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    CHECK(!parsed.is_discarded());
    CHECK(parsed.is_object());
    const std::multiset<std::string> keys = top_level_keys(line);
    // Distinct keys (names that differ only in invalid UTF-8 all read U+FFFD, so only then).
    if (names_valid) CHECK(std::set<std::string>(keys.begin(), keys.end()).size() == keys.size());
    if (names_valid) {
        CHECK(parsed.contains(options.time_key));
        CHECK(parsed.contains(options.message_key));
    }

    const auto kept = [&options](const std::string& name) {
        const auto in_list = [&name](const std::vector<std::string>& list) {
            return std::find(list.begin(), list.end(), name) != list.end();
        };
        return (options.include.empty() || in_list(options.include)) && !in_list(options.exclude);
    };
    for (const auto& [name, e] : expected) {
        if (!kept(name)) continue;
        if (!names_valid) continue;  // keys then hold replacements
        std::size_t underscores = 0;
        const std::string_view core =
            std::string_view(name).substr(std::min(name.find_first_not_of('_'), name.size()));
        for (const std::string& f : fixed) {
            const std::string_view f_core =
                std::string_view(f).substr(std::min(f.find_first_not_of('_'), f.size()));
            if (!f.empty() && f_core == core)
                underscores = std::max(underscores, f.size() - f_core.size() + 1);
        }
        const std::string key = std::string(underscores, '_') + name;
        CHECK(parsed.contains(key));
        const nlohmann::json& v = parsed[key];
        if (e.text) CHECK(v.is_string() && v.get<std::string>() == *e.text);
        if (e.integer) CHECK(v.is_number_integer() && v.get<long long>() == *e.integer);
        if (e.boolean) CHECK(v.is_boolean() && v.get<bool>() == *e.boolean);
    }
    return 0;
}
