// SPDX-License-Identifier: Apache-2.0
#include "attribute_value_json.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include <boost/date_time/posix_time/posix_time.hpp>

#include "json_stream_registry.hpp"
#include "ptime_conversion.hpp"
#include "value_stream.hpp"

namespace kafka_log::detail {

namespace {

template <typename T>
std::string through_stream(const T& value) {
    std::ostringstream os;
    os << value;
    return os.str();
}

/// Where ValueWriter writes a header value: the text of the value alone, as the JSON has it but
/// without JSON's quoting. Strings are their own bytes; numbers, bools and times are what
/// JsonWriter writes (times and NaN without their quotes); a named scope list stays a JSON array.
class TextOut {
public:
    explicit TextOut(std::string& out) noexcept : out_(out) {}

    void string(std::string_view v) {
        if (array_) {
            array_->string(v);
        } else {
            out_.append(v);
        }
    }
    void boolean(bool v) { out_.append(v ? "true" : "false"); }
    template <typename Number>
    void number(Number v) {
        unquoted([&](JsonWriter& json) { json.number(v); });
    }
    void time(std::chrono::system_clock::time_point t, bool utc) {
        unquoted([&](JsonWriter& json) { json.time(t, utc); });
    }
    void begin_array() {
        array_.emplace(out_);
        array_->begin_array();
    }
    void end_array() {
        array_->end_array();
        array_.reset();
    }

private:
    /// What `write` puts through a JsonWriter, without the quotes of a string value.
    template <typename Write>
    void unquoted(Write&& write) {
        const std::size_t at = out_.size();
        {
            JsonWriter json(out_);
            write(json);
        }
        if (out_.size() - at >= 2 && out_[at] == '"' && out_.back() == '"') {
            out_.pop_back();
            out_.erase(at, 1);
        }
    }

    std::string& out_;
    std::optional<JsonWriter> array_;
};

/// Writes one value of a known type, to a JsonWriter or a TextOut.
template <typename Out>
struct ValueWriter {
    Out* out;
    const JsonOptions* options;

    void operator()(const std::string& v) const { out->string(v); }
    void operator()(std::string_view v) const { out->string(v); }
    void operator()(const char* v) const {
        out->string(v != nullptr ? std::string_view(v) : std::string_view());
    }
    void operator()(const boost::log::string_literal& v) const {
        out->string(std::string_view(v.c_str(), v.size()));
    }
    void operator()(char v) const { out->string(std::string_view(&v, 1)); }
    void operator()(bool v) const { out->boolean(v); }
    template <typename Int>
    requires std::is_integral_v<Int>
    void operator()(Int v) const { out->number(v); }
    void operator()(float v) const { out->number(static_cast<double>(v)); }
    void operator()(double v) const { out->number(v); }
    void operator()(long double v) const { out->number(static_cast<double>(v)); }
    void operator()(const boost::posix_time::ptime& v) const {
        if (v.is_special()) {
            out->string(boost::posix_time::to_simple_string(v));
        } else {
            out->time(to_time_point(v, options->time_attribute_is_utc), options->utc);
        }
    }
    void operator()(boost::log::trivial::severity_level v) const {
        const auto i = static_cast<std::size_t>(v);
        if (i < options->level_names.size()) {
            out->string(options->level_names[i]);
        } else {
            out->number(static_cast<std::int64_t>(v));
        }
    }
    void operator()(const boost::log::attributes::named_scope_list& scopes) const {
        out->begin_array();
        for (const auto& scope : scopes) {
            out->string(std::string_view(scope.scope_name.c_str(), scope.scope_name.size()));
        }
        out->end_array();
    }
    void operator()(const boost::log::aux::thread::id& v) const {
        // Records of a thread are mostly formatted on that thread: keep its id's text.
        thread_local boost::log::aux::thread::id last{};
        thread_local std::string text;
        if (text.empty() || !(v == last)) {
            text = through_stream(v);
            last = v;
        }
        out->string(text);
    }
    void operator()(const boost::log::aux::process::id& v) const {
        thread_local boost::log::aux::process::id last{};
        thread_local std::string text;
        if (text.empty() || !(v == last)) {
            text = through_stream(v);
            last = v;
        }
        out->string(text);
    }
};

/// Writes a captured value of a known kind.
template <typename Out, std::size_t... I>
void write_captured(const CaptureDispatcher& captured, const ValueWriter<Out>& writer,
                    std::index_sequence<I...>) {
    using Write = void (*)(const ValueWriter<Out>&, const void*);
    static constexpr Write table[] = {[](const ValueWriter<Out>& w, const void* p) {
        w(*static_cast<const std::tuple_element_t<I, KnownTypes>*>(p));
    }...};
    table[static_cast<std::size_t>(captured.kind())](writer, captured.address());
}

/// `"<type name>"` for a value of a type with no renderer; the demangled name is worked out
/// once per type and thread.
template <typename Out>
void write_unregistered(Out& out, const boost::typeindex::type_index& type) {
    thread_local std::map<boost::typeindex::type_index, std::string> names;
    auto it = names.find(type);
    if (it == names.end()) it = names.emplace(type, "<" + type.pretty_name() + ">").first;
    out.string(it->second);
}

/// One value to `out`: known types natively, then registered renderers, then the type's name.
template <typename Out>
void write_value(Out& out, const JsonOptions& options, const boost::log::attribute_value& value,
                 CaptureDispatcher& captured) {
    if (captured.capture(value)) {
        write_captured(captured, ValueWriter<Out>{&out, &options},
                       std::make_index_sequence<std::tuple_size_v<KnownTypes>>{});
        return;
    }
    if (const JsonStreamRenderer renderer = JsonStreamRegistry::instance().find(value.get_type())) {
        thread_local ValueStream stream;
        if (!stream.busy()) {
            if (stream.render(renderer, value)) {
                out.string(stream.text());
                return;
            }
        } else {
            std::ostringstream os;  // a renderer that logs: its own record's value
            if (renderer(value, os)) {
                out.string(os.view());
                return;
            }
        }
    }
    write_unregistered(out, value.get_type());
}

}  // namespace

void write_attribute_value(JsonWriter& out, const JsonOptions& options,
                           const boost::log::attribute_value& value, CaptureDispatcher& captured) {
    write_value(out, options, value, captured);
}

void write_attribute_text(std::string& out, const JsonOptions& options,
                          const boost::log::attribute_value& value, CaptureDispatcher& captured) {
    TextOut text(out);
    write_value(text, options, value, captured);
}

}  // namespace kafka_log::detail
