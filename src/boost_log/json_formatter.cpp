// SPDX-License-Identifier: Apache-2.0
// The layout of a JSON line; the values are written by attribute_value_json.cpp.
#include "kafka_log/boost_log/json_formatter.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/log/utility/formatting_ostream.hpp>

#include "attribute_name_cache.hpp"
#include "attribute_value_json.hpp"
#include "json_stream_registry.hpp"
#include "kafka_log/json_writer.hpp"
#include "ptime_conversion.hpp"
#include "value_dispatch.hpp"

namespace kafka_log {

namespace {

using detail::AttributeNameCache;
using detail::AttributeNameInfo;
using detail::CaptureDispatcher;

/// What a formatter computes once: its options, and every fixed key and level name encoded.
/// A record is `{` level? time message id? attributes* `}`.
struct Prepared {
    explicit Prepared(JsonOptions o) : options(std::move(o)) {
        level_key = JsonWriter::quote(options.level_key);
        time_key = JsonWriter::quote(options.time_key);
        message_key = JsonWriter::quote(options.message_key);
        if (!options.record_id_key.empty()) {
            record_id_key = JsonWriter::quote(options.record_id_key);
        }
        for (const std::string& name : options.level_names) {
            level_names.push_back(JsonWriter::quote(name));
        }
        refuse_shared_keys();
    }
    JsonOptions options;
    std::string level_key;      // "level"
    std::string time_key;       // "logtime"
    std::string message_key;    // "msg"
    std::string record_id_key;  // "id" (empty: no id)
    std::vector<std::string> level_names;
    std::uint64_t id = next_id();

    /// Two fixed keys that are the same JSON key (equal, or equal once invalid UTF-8 is
    /// replaced) would make every line hold a key twice.
    void refuse_shared_keys() const {
        const std::pair<const char*, const std::string*> keys[] = {
            {"level_key", &level_key},
            {"time_key", &time_key},
            {"message_key", &message_key},
            {"record_id_key", &record_id_key}};
        for (std::size_t i = 0; i < std::size(keys); ++i) {
            for (std::size_t j = i + 1; j < std::size(keys); ++j) {
                if (keys[i].second->empty() || *keys[i].second != *keys[j].second) continue;
                throw std::invalid_argument(
                    std::string("kafka_log::json_formatter: JsonOptions::") + keys[i].first +
                    " and JsonOptions::" + keys[j].first + " are the same JSON key " +
                    *keys[i].second);
            }
        }
    }

    static std::uint64_t next_id() {
        static std::atomic<std::uint64_t> counter{0};
        return counter.fetch_add(1, std::memory_order_relaxed) + 1;
    }
};

class JsonFormatter {
public:
    JsonFormatter(JsonOptions options, JsonSeverityReader severity)
        : prepared_(std::make_shared<const Prepared>(std::move(options))),
          severity_(severity),
          severity_name_(prepared_->options.severity_attribute),
          time_name_(prepared_->options.time_attribute),
          message_name_("Message") {}

    void operator()(const boost::log::record_view& record,
                    boost::log::formatting_ostream& stream) const {
        // Straight into the stream's string when it has one (a sink's formatting stream does).
        auto* buffer = stream.rdbuf();
        if (std::string* storage = buffer->storage(); storage != nullptr) {
            buffer->pubsync();  // whatever was streamed before us goes first
            format(record, *storage);
            return;
        }
        thread_local std::string line;
        line.clear();
        format(record, line);
        stream.write(line.data(), static_cast<std::streamsize>(line.size()));
    }

private:
    struct Attribute {
        const AttributeNameInfo* name;  // set once every name is known: the cache may grow before
        std::size_t id;
        const boost::log::attribute_value* value;
    };

    void format(const boost::log::record_view& record, std::string& out) const {
        // On the stack for the usual handful of attributes; a per-thread vector beyond.
        constexpr std::size_t on_stack = 16;
        Attribute stack_attributes[on_stack];
        std::size_t count = 0;
        thread_local std::vector<Attribute> spilled;
        const auto add = [&](const Attribute& a) {
            if (count < on_stack) {
                stack_attributes[count] = a;
            } else {
                if (count == on_stack) {
                    spilled.assign(stack_attributes, stack_attributes + on_stack);
                }
                spilled.push_back(a);
            }
            ++count;
        };
        const Prepared& p = *prepared_;
        const JsonOptions& o = p.options;
        CaptureDispatcher captured;
        AttributeNameCache& names = AttributeNameCache::for_formatter(p.id);

        const boost::log::attribute_value* severity = nullptr;
        const boost::log::attribute_value* stamp = nullptr;
        const boost::log::attribute_value* message = nullptr;
        for (const auto& [name, value] : record.attribute_values()) {
            if (name == severity_name_) {
                severity = &value;
            } else if (name == time_name_) {
                stamp = &value;
            } else if (name == message_name_) {
                message = &value;
            } else if (names.info(o, name).state == AttributeNameInfo::State::keep) {
                add(Attribute{nullptr, static_cast<std::size_t>(name.id()), &value});
            }
        }
        Attribute* const attributes = count <= on_stack ? stack_attributes : spilled.data();
        for (std::size_t i = 0; i < count; ++i) attributes[i].name = &names.known(attributes[i].id);

        JsonWriter line(out, 256);
        line.begin_object();
        if (severity != nullptr) {
            std::optional<long long> level;
            if (severity_ != nullptr) {
                level = severity_(*severity);
            } else if (captured.capture(*severity)) {
                level = detail::severity_number(captured);
            }
            if (level) {
                line.raw_key(p.level_key);
                if (*level >= 0 && static_cast<std::size_t>(*level) < p.level_names.size()) {
                    line.raw_value(p.level_names[static_cast<std::size_t>(*level)]);
                } else {
                    line.number(*level);
                }
            }
        }
        line.raw_key(p.time_key);
        using Ptime = boost::posix_time::ptime;
        if (stamp != nullptr && captured.capture(*stamp) &&
            captured.kind() == detail::kind_of<Ptime> && !captured.as<Ptime>().is_special()) {
            line.time(detail::to_time_point(captured.as<Ptime>(), o.time_attribute_is_utc), o.utc);
        } else {
            line.time(std::chrono::system_clock::now(), o.utc);
        }
        line.raw_key(p.message_key);
        if (message != nullptr) {
            detail::write_attribute_value(line, o, *message, captured);
        } else {
            line.string({});
        }
        if (!p.record_id_key.empty()) {
            line.raw_key(p.record_id_key);
            line.record_id();
        }

        const auto by_name = [](const Attribute& a, const Attribute& b) {
            return a.name->rank < b.name->rank;
        };
        if (count <= on_stack) {
            // Insertion sort: a handful of integers, mostly in order already.
            for (std::size_t i = 1; i < count; ++i) {
                const Attribute a = attributes[i];
                std::size_t j = i;
                for (; j > 0 && by_name(a, attributes[j - 1]); --j) {
                    attributes[j] = attributes[j - 1];
                }
                attributes[j] = a;
            }
        } else {
            std::sort(attributes, attributes + count, by_name);
        }
        for (std::size_t i = 0; i < count; ++i) {
            line.raw_key(attributes[i].name->key);
            detail::write_attribute_value(line, o, *attributes[i].value, captured);
        }
        line.end_object();
    }

    std::shared_ptr<const Prepared> prepared_;
    JsonSeverityReader severity_;
    boost::log::attribute_name severity_name_;
    boost::log::attribute_name time_name_;
    boost::log::attribute_name message_name_;
};

}  // namespace

boost::log::formatter json_formatter(JsonOptions options, JsonSeverityReader severity) {
    return boost::log::formatter(JsonFormatter(std::move(options), severity));
}

boost::log::formatter json_formatter(JsonOptions options) {
    return json_formatter(std::move(options), nullptr);
}

void register_json_stream_renderer(boost::typeindex::type_index type, JsonStreamRenderer renderer) {
    detail::JsonStreamRegistry::instance().add(type, renderer);
}

}  // namespace kafka_log
