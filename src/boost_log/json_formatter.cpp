// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/json_formatter.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <vector>

#include <boost/date_time/posix_time/posix_time.hpp>
#include <boost/log/attributes/current_process_id.hpp>
#include <boost/log/attributes/current_thread_id.hpp>
#include <boost/log/attributes/named_scope.hpp>
#include <boost/log/utility/formatting_ostream.hpp>

namespace kafka_log {
namespace detail {

namespace {

using Clock = std::chrono::system_clock;

// --- registry of types written through operator<< -----------------------------------------

struct StreamRegistry {
    std::shared_mutex mutex;
    std::map<boost::typeindex::type_index, StreamRenderer> renderers;
};

StreamRegistry& stream_registry() {
    static StreamRegistry registry;
    return registry;
}

// --- time -----------------------------------------------------------------------------

/// A ptime (no zone) as a point on the system clock.
Clock::time_point to_time_point(const boost::posix_time::ptime& t, bool is_utc) {
    static const boost::posix_time::ptime epoch(boost::gregorian::date(1970, 1, 1));
    const auto since_epoch = t - epoch;
    const std::int64_t total_us = since_epoch.total_microseconds();
    std::int64_t seconds = total_us / 1000000;
    std::int64_t micros = total_us % 1000000;
    if (micros < 0) {
        micros += 1000000;
        --seconds;
    }
    if (!is_utc) {
        // Wall-clock seconds -> epoch seconds through the local zone; one mktime per second
        // per thread.
        thread_local std::int64_t cached_wall = -1;
        thread_local std::int64_t cached_epoch = 0;
        if (seconds != cached_wall) {
            std::time_t wall = static_cast<std::time_t>(seconds);
            std::tm tm{};
            ::gmtime_r(&wall, &tm);
            tm.tm_isdst = -1;
            cached_epoch = static_cast<std::int64_t>(std::mktime(&tm));
            cached_wall = seconds;
        }
        seconds = cached_epoch;
    }
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(seconds) +
                                                                          std::chrono::microseconds(micros)));
}

// --- attribute values -------------------------------------------------------------------

template <typename T>
std::string through_stream(const T& value) {
    std::ostringstream os;
    os << value;
    return os.str();
}

struct ValueWriter {
    using result_type = void;
    JsonEncoder* json;
    const JsonOptions* options;

    void operator()(const std::string& v) const { json->string(v); }
    void operator()(const char* v) const { json->string(v ? std::string_view(v) : std::string_view()); }
    void operator()(const boost::log::string_literal& v) const { json->string(std::string_view(v.c_str(), v.size())); }
    void operator()(char v) const { json->string(std::string_view(&v, 1)); }
    void operator()(bool v) const { json->boolean(v); }
    template <typename Int>
        requires std::is_integral_v<Int>
    void operator()(Int v) const {
        if constexpr (std::is_signed_v<Int>) {
            json->number(static_cast<std::int64_t>(v));
        } else {
            json->number(static_cast<std::uint64_t>(v));
        }
    }
    void operator()(float v) const { json->number(static_cast<double>(v)); }
    void operator()(double v) const { json->number(v); }
    void operator()(long double v) const { json->number(static_cast<double>(v)); }
    void operator()(const boost::posix_time::ptime& v) const {
        if (v.is_special()) {
            json->string(boost::posix_time::to_simple_string(v));
        } else {
            json->time(to_time_point(v, options->time_attribute_is_utc), options->utc);
        }
    }
    void operator()(boost::log::trivial::severity_level v) const {
        const auto i = static_cast<std::size_t>(v);
        if (i < options->level_names.size()) {
            json->string(options->level_names[i]);
        } else {
            json->number(static_cast<std::int64_t>(v));
        }
    }
    void operator()(const boost::log::attributes::named_scope_list& scopes) const {
        json->begin_array();
        for (const auto& scope : scopes) json->string(std::string_view(scope.scope_name.c_str(), scope.scope_name.size()));
        json->end_array();
    }
    void operator()(const boost::log::aux::thread::id& v) const {
        // Records of a thread are mostly formatted on that thread: keep its id's text.
        thread_local boost::log::aux::thread::id last{};
        thread_local std::string text;
        if (text.empty() || !(v == last)) {
            text = through_stream(v);
            last = v;
        }
        json->string(text);
    }
    void operator()(const boost::log::aux::process::id& v) const {
        thread_local boost::log::aux::process::id last{};
        thread_local std::string text;
        if (text.empty() || !(v == last)) {
            text = through_stream(v);
            last = v;
        }
        json->string(text);
    }
};

/// Writes `value` if its type is `T`; false otherwise.
using Renderer = bool (*)(JsonEncoder&, const JsonOptions&, const boost::log::attribute_value&);

template <typename T>
bool render(JsonEncoder& json, const JsonOptions& options, const boost::log::attribute_value& value) {
    const auto v = value.extract<T>();
    if (!v) return false;
    ValueWriter{&json, &options}(v.get());
    return true;
}

struct KnownType {
    boost::typeindex::type_index type;
    Renderer renderer;
};

template <typename... T>
std::vector<KnownType> known_types() {
    return {KnownType{boost::typeindex::type_id<T>(), &render<T>}...};
}

/// The renderer of a value's type: a per-thread cache keyed by the type_info address (a pointer
/// compare), filled from the table of supported types on first sight. Boost's visitation over
/// a type list would compare type names on every value.
Renderer renderer_for(const boost::log::attribute_value& value) {
    static const std::vector<KnownType> table =
        known_types<std::string, int, long long, unsigned, unsigned long long, double, bool, const char*,
                    boost::log::string_literal, char, signed char, unsigned char, short, unsigned short, long,
                    unsigned long, float, long double, boost::posix_time::ptime, boost::log::trivial::severity_level,
                    boost::log::attributes::named_scope_list, boost::log::aux::thread::id,
                    boost::log::aux::process::id>();
    struct Entry {
        const std::type_info* type;
        Renderer renderer;
    };
    thread_local std::vector<Entry> cache;
    const std::type_info& type = value.get_type().type_info();
    for (const Entry& e : cache) {
        if (e.type == &type) return e.renderer;
    }
    Renderer found = nullptr;
    for (const KnownType& k : table) {
        if (k.type == value.get_type()) {
            found = k.renderer;
            break;
        }
    }
    if (cache.size() < 64) cache.push_back(Entry{&type, found});
    return found;
}

void write_value(JsonEncoder& json, const JsonOptions& options, const boost::log::attribute_value& value) {
    if (Renderer r = renderer_for(value); r != nullptr && r(json, options, value)) return;
    {
        StreamRegistry& registry = stream_registry();
        std::shared_lock lock(registry.mutex);
        const auto it = registry.renderers.find(value.get_type());
        if (it != registry.renderers.end()) {
            std::ostringstream os;
            if (it->second(value, os)) {
                json.string(os.str());
                return;
            }
        }
    }
    json.string("<" + value.get_type().pretty_name() + ">");
}

/// An attribute's name without Boost's repository lock: a per-thread cache by name id (the
/// repository's strings never move).
std::string_view name_of(const boost::log::attribute_name& name) {
    thread_local std::vector<const std::string*> names;
    const auto id = name.id();
    if (id >= names.size()) names.resize(id + 1, nullptr);
    if (names[id] == nullptr) names[id] = &name.string();
    return *names[id];
}

// --- the formatter ----------------------------------------------------------------------

class JsonFormatter {
public:
    JsonFormatter(JsonOptions options, SeverityReader severity)
        : options_(std::make_shared<const JsonOptions>(std::move(options))),
          severity_(std::move(severity)),
          severity_name_(options_->severity_attribute),
          time_name_(options_->time_attribute),
          message_name_("Message") {}

    void operator()(const boost::log::record_view& record, boost::log::formatting_ostream& stream) const {
        thread_local std::string line;
        thread_local std::vector<std::pair<std::string_view, const boost::log::attribute_value*>> attributes;
        line.clear();
        attributes.clear();
        const JsonOptions& o = *options_;
        const boost::log::attribute_value_set& values = record.attribute_values();
        JsonEncoder json(line);
        json.begin_object();

        if (const std::optional<long long> level = severity_(values, severity_name_)) {
            json.key(o.level_key);
            if (*level >= 0 && static_cast<std::size_t>(*level) < o.level_names.size()) {
                json.string(o.level_names[static_cast<std::size_t>(*level)]);
            } else {
                json.number(static_cast<std::int64_t>(*level));
            }
        }
        json.key(o.time_key);
        const auto stamp = boost::log::extract<boost::posix_time::ptime>(time_name_, values);
        if (stamp && !stamp->is_special()) {
            json.time(to_time_point(*stamp, o.time_attribute_is_utc), o.utc);
        } else {
            json.time(Clock::now(), o.utc);
        }
        json.key(o.message_key);
        const auto message = values.find(message_name_);
        if (message != values.end()) {
            write_value(json, o, message->second);
        } else {
            json.string("");
        }
        if (!o.record_id_key.empty()) {
            json.key(o.record_id_key);
            json.string(JsonEncoder::next_record_id());
        }

        for (const auto& [name, value] : values) {
            if (name == severity_name_ || name == time_name_ || name == message_name_) continue;
            const std::string_view text = name_of(name);
            if (!o.include.empty() && std::find(o.include.begin(), o.include.end(), text) == o.include.end()) continue;
            if (std::find(o.exclude.begin(), o.exclude.end(), text) != o.exclude.end()) continue;
            attributes.emplace_back(text, &value);
        }
        std::sort(attributes.begin(), attributes.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [name, value] : attributes) {
            if (name == o.level_key || name == o.time_key || name == o.message_key || name == o.record_id_key) {
                json.key("_" + std::string(name));
            } else {
                json.key(name);
            }
            write_value(json, o, *value);
        }
        json.end_object();
        stream.write(line.data(), static_cast<std::streamsize>(line.size()));
    }

private:
    std::shared_ptr<const JsonOptions> options_;
    SeverityReader severity_;
    boost::log::attribute_name severity_name_;
    boost::log::attribute_name time_name_;
    boost::log::attribute_name message_name_;
};

}  // namespace

boost::log::formatter make_json_formatter(JsonOptions options, SeverityReader severity) {
    return boost::log::formatter(JsonFormatter(std::move(options), std::move(severity)));
}

void register_json_stream_renderer(boost::typeindex::type_index type, StreamRenderer renderer) {
    StreamRegistry& registry = stream_registry();
    std::unique_lock lock(registry.mutex);
    registry.renderers[type] = std::move(renderer);
}

}  // namespace detail

boost::log::formatter json_formatter(JsonOptions options) {
    return detail::make_json_formatter(
        std::move(options),
        [](const boost::log::attribute_value_set& values,
           const boost::log::attribute_name& name) -> std::optional<long long> {
            const auto found = values.find(name);
            if (found == values.end()) return std::nullopt;
            if (auto v = found->second.extract<boost::log::trivial::severity_level>()) return static_cast<long long>(*v);
            if (auto v = found->second.extract<int>()) return static_cast<long long>(*v);
            if (auto v = found->second.extract<unsigned>()) return static_cast<long long>(*v);
            return std::nullopt;
        });
}

}  // namespace kafka_log
