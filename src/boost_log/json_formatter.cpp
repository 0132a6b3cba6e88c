// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/json_formatter.hpp"

#include "../detail/json_text.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <tuple>
#include <utility>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

/// Registrations are rare (at start-up) and lookups run for every value of a registered type:
/// each registration publishes a new immutable map, and a lookup is one acquire load and a
/// search, with no lock and no shared cache line written. Every map published stays alive
/// until exit, since a formatting thread may still be reading an older one.
class StreamRegistry {
public:
    using Map = std::map<boost::typeindex::type_index, StreamRenderer>;

    /// The renderer of `type`, or null.
    StreamRenderer find(const boost::typeindex::type_index& type) const noexcept {
        const Map* map = current_.load(std::memory_order_acquire);
        if (map == nullptr) return nullptr;
        const auto it = map->find(type);
        return it == map->end() ? nullptr : it->second;
    }

    void add(const boost::typeindex::type_index& type, StreamRenderer renderer) {
        std::lock_guard lock(mutex_);
        auto next = published_.empty() ? std::make_unique<Map>() : std::make_unique<Map>(*published_.back());
        (*next)[type] = renderer;
        published_.push_back(std::move(next));
        current_.store(published_.back().get(), std::memory_order_release);
    }

private:
    std::atomic<const Map*> current_{nullptr};
    std::mutex mutex_;
    std::vector<std::unique_ptr<const Map>> published_;
};

StreamRegistry& stream_registry() {
    static StreamRegistry registry;
    return registry;
}

/// A stream buffer that appends to a string whose capacity it keeps between values.
class AppendBuffer final : public std::streambuf {
public:
    std::string text;

protected:
    int_type overflow(int_type c) override {
        if (!traits_type::eq_int_type(c, traits_type::eof())) text.push_back(traits_type::to_char_type(c));
        return traits_type::not_eof(c);
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        text.append(s, static_cast<std::size_t>(n));
        return n;
    }
};

/// The stream a thread renders registered types through, reused from value to value: no
/// ostringstream (an allocation and the global locale's reference count) per value. Before
/// each value its state is reset to a fresh stream's, so what one operator<< sets (hex,
/// precision, width, fill, a locale) does not leak into the next value.
class ValueStream {
public:
    ValueStream() : os_(&buffer_) {
        os_.register_callback(&ValueStream::on_event, imbued_index());
        default_flags_ = os_.flags();
    }

    /// Renders `value` with `renderer` into the reused buffer: true with the text in text(),
    /// false when the renderer declined the value. Not reentrant (busy()): a renderer that
    /// logs, and so formats, on this thread is served by a stream of its own.
    bool render(StreamRenderer renderer, const boost::log::attribute_value& value) {
        busy_ = true;
        struct Release {
            bool& busy;
            ~Release() { busy = false; }
        } release{busy_};
        buffer_.text.clear();
        os_.exceptions(std::ios_base::goodbit);
        os_.clear();
        os_.flags(default_flags_);
        os_.precision(6);
        os_.width(0);
        os_.fill(' ');
        if (os_.iword(imbued_index()) != 0) {
            os_.imbue(std::locale());
            os_.iword(imbued_index()) = 0;
        }
        return renderer(value, os_);
    }

    std::string_view text() const noexcept { return buffer_.text; }
    bool busy() const noexcept { return busy_; }

private:
    static int imbued_index() {
        static const int index = std::ios_base::xalloc();
        return index;
    }
    static void on_event(std::ios_base::event event, std::ios_base& stream, int index) {
        if (event == std::ios_base::imbue_event) stream.iword(index) = 1;
    }

    AppendBuffer buffer_;
    std::ostream os_;
    std::ios_base::fmtflags default_flags_{};
    bool busy_ = false;
};

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

/// Writes one attribute value as JSON straight past the record's cursor.
struct ValueWriter {
    using result_type = void;
    TextCursor* out;
    const JsonOptions* options;

    void operator()(const std::string& v) const { write_quoted(*out, v); }
    void operator()(std::string_view v) const { write_quoted(*out, v); }
    void operator()(const char* v) const { write_quoted(*out, v ? std::string_view(v) : std::string_view()); }
    void operator()(const boost::log::string_literal& v) const {
        write_quoted(*out, std::string_view(v.c_str(), v.size()));
    }
    void operator()(char v) const { write_quoted(*out, std::string_view(&v, 1)); }
    void operator()(bool v) const { out->write(v ? std::string_view("true") : std::string_view("false")); }
    template <typename Int>
        requires std::is_integral_v<Int>
    void operator()(Int v) const {
        if constexpr (std::is_signed_v<Int>) {
            write_integer(*out, static_cast<std::int64_t>(v));
        } else {
            write_integer(*out, static_cast<std::uint64_t>(v));
        }
    }
    void operator()(float v) const { write_double(*out, static_cast<double>(v)); }
    void operator()(double v) const { write_double(*out, v); }
    void operator()(long double v) const { write_double(*out, static_cast<double>(v)); }
    void operator()(const boost::posix_time::ptime& v) const {
        if (v.is_special()) {
            write_quoted(*out, boost::posix_time::to_simple_string(v));
        } else {
            write_time(*out, to_time_point(v, options->time_attribute_is_utc), options->utc, true);
        }
    }
    void operator()(boost::log::trivial::severity_level v) const {
        const auto i = static_cast<std::size_t>(v);
        if (i < options->level_names.size()) {
            write_quoted(*out, options->level_names[i]);
        } else {
            write_integer(*out, static_cast<std::int64_t>(v));
        }
    }
    void operator()(const boost::log::attributes::named_scope_list& scopes) const {
        out->put('[');
        bool first = true;
        for (const auto& scope : scopes) {
            if (!first) out->put(',');
            first = false;
            write_quoted(*out, std::string_view(scope.scope_name.c_str(), scope.scope_name.size()));
        }
        out->put(']');
    }
    void operator()(const boost::log::aux::thread::id& v) const {
        // Records of a thread are mostly formatted on that thread: keep its id's text.
        thread_local boost::log::aux::thread::id last{};
        thread_local std::string text;
        if (text.empty() || !(v == last)) {
            text = through_stream(v);
            last = v;
        }
        write_quoted(*out, text);
    }
    void operator()(const boost::log::aux::process::id& v) const {
        thread_local boost::log::aux::process::id last{};
        thread_local std::string text;
        if (text.empty() || !(v == last)) {
            text = through_stream(v);
            last = v;
        }
        write_quoted(*out, text);
    }
};

// --- one dispatch per value ----------------------------------------------------------------

/// The value types rendered natively; a value's kind is its index here.
using KnownTypes =
    std::tuple<std::string, int, long long, unsigned, unsigned long long, double, bool, const char*,
               boost::log::string_literal, char, signed char, unsigned char, short, unsigned short, long,
               unsigned long, float, long double, boost::posix_time::ptime, boost::log::trivial::severity_level,
               boost::log::attributes::named_scope_list, boost::log::aux::thread::id,
               boost::log::aux::process::id, std::string_view>;
constexpr int kind_of_ptime = 18;
constexpr int kind_of_severity = 19;
static_assert(std::is_same_v<std::tuple_element_t<kind_of_ptime, KnownTypes>, boost::posix_time::ptime>);
static_assert(std::is_same_v<std::tuple_element_t<kind_of_severity, KnownTypes>, boost::log::trivial::severity_level>);

/// Learns a value's kind and address with one call to its `dispatch`: Boost's `extract`
/// would cost a dispatch per type tried, each comparing type names. The kind of a type is
/// looked up by its `type_info` address in a per-thread cache, filled from KnownTypes on
/// first sight.
class CaptureDispatcher final : public boost::log::type_dispatcher {
public:
    CaptureDispatcher() noexcept : type_dispatcher(&CaptureDispatcher::callback_for) {}

    /// True when `value` holds one of KnownTypes; then kind() and address() describe it.
    bool capture(const boost::log::attribute_value& value) {
        kind_ = -1;
        address_ = nullptr;
        return value.dispatch(*this) && kind_ >= 0;
    }
    int kind() const noexcept { return kind_; }
    template <typename T>
    const T& as() const noexcept {
        return *static_cast<const T*>(address_);
    }
    const void* address() const noexcept { return address_; }

private:
    using Maker = callback_base (*)(void*);

    template <int Kind, typename T>
    static void on_value(void* self, const T& value) noexcept {
        auto* d = static_cast<CaptureDispatcher*>(self);
        d->kind_ = Kind;
        d->address_ = &value;
    }

    template <std::size_t... I>
    static constexpr std::array<Maker, sizeof...(I)> makers(std::index_sequence<I...>) {
        return {[](void* self) {
            return callback_base(self, &on_value<static_cast<int>(I), std::tuple_element_t<I, KnownTypes>>);
        }...};
    }

    template <std::size_t... I>
    static int find_kind(boost::typeindex::type_index type, std::index_sequence<I...>) {
        int kind = -1;
        ((kind < 0 && type == boost::typeindex::type_id<std::tuple_element_t<I, KnownTypes>>()
              ? (kind = static_cast<int>(I))
              : 0),
         ...);
        return kind;
    }

    static callback_base callback_for(type_dispatcher* self, boost::typeindex::type_index type) {
        static constexpr auto table = makers(std::make_index_sequence<std::tuple_size_v<KnownTypes>>{});
        // A small direct-mapped cache keyed by the type_info address: a record's few value
        // types each find their kind with one compare.
        struct Entry {
            const std::type_info* type = nullptr;
            int kind = -1;
        };
        thread_local std::array<Entry, 64> cache{};
        const std::type_info* key = &type.type_info();
        Entry& entry = cache[(reinterpret_cast<std::uintptr_t>(key) >> 4) % cache.size()];
        if (entry.type != key) {
            entry.kind = find_kind(type, std::make_index_sequence<std::tuple_size_v<KnownTypes>>{});
            entry.type = key;
        }
        if (entry.kind < 0) return callback_base();
        return table[static_cast<std::size_t>(entry.kind)](static_cast<CaptureDispatcher*>(self));
    }

    int kind_ = -1;
    const void* address_ = nullptr;
};

/// Renders a captured value of a known kind.
template <std::size_t... I>
void render_captured(const CaptureDispatcher& captured, const ValueWriter& writer, std::index_sequence<I...>) {
    using Render = void (*)(const ValueWriter&, const void*);
    static constexpr Render table[] = {[](const ValueWriter& w, const void* p) {
        w(*static_cast<const std::tuple_element_t<I, KnownTypes>*>(p));
    }...};
    table[static_cast<std::size_t>(captured.kind())](writer, captured.address());
}

/// A severity value as a number, when it is a trivial severity or an integer.
std::optional<long long> severity_number(const CaptureDispatcher& captured) {
    switch (captured.kind()) {
        case kind_of_severity: return static_cast<long long>(captured.as<boost::log::trivial::severity_level>());
        case 1: return captured.as<int>();
        case 2: return captured.as<long long>();
        case 3: return static_cast<long long>(captured.as<unsigned>());
        case 14: return captured.as<long>();
        default: return std::nullopt;
    }
}

/// `"<type name>"` for a value of a type with no renderer; the demangled name is worked out
/// once per type and thread.
void write_unregistered(TextCursor& out, const boost::typeindex::type_index& type) {
    thread_local std::map<boost::typeindex::type_index, std::string> names;
    auto it = names.find(type);
    if (it == names.end()) it = names.emplace(type, "<" + type.pretty_name() + ">").first;
    write_quoted(out, it->second);
}

void write_value(TextCursor& out, const JsonOptions& options, const boost::log::attribute_value& value,
                 CaptureDispatcher& captured) {
    if (captured.capture(value)) {
        render_captured(captured, ValueWriter{&out, &options}, std::make_index_sequence<std::tuple_size_v<KnownTypes>>{});
        return;
    }
    if (const StreamRenderer renderer = stream_registry().find(value.get_type())) {
        thread_local ValueStream stream;
        if (!stream.busy()) {
            if (stream.render(renderer, value)) {
                write_quoted(out, stream.text());
                return;
            }
        } else {
            std::ostringstream os;  // a renderer that logs: its own record's value
            if (renderer(value, os)) {
                write_quoted(out, os.view());
                return;
            }
        }
    }
    write_unregistered(out, value.get_type());
}

// --- the formatter ----------------------------------------------------------------------

/// What a formatter computes once: its options and every fixed key and level name, encoded.
/// A record is `{` level? time message id? attributes* `}`: the level comes first when there
/// is one, so only the time key exists both with its leading comma and without; every key
/// after it carries its comma.
struct Prepared {
    explicit Prepared(JsonOptions o) : options(std::move(o)) {
        level_key = JsonEncoder::encode_key(options.level_key);
        time_key_first = JsonEncoder::encode_key(options.time_key);
        time_key_next = "," + time_key_first;
        message_key = "," + JsonEncoder::encode_key(options.message_key);
        if (!options.record_id_key.empty()) record_id_key = "," + JsonEncoder::encode_key(options.record_id_key);
        for (const std::string& name : options.level_names) level_names.push_back(JsonEncoder::encode_string(name));
    }
    JsonOptions options;
    std::string level_key;       // "level":
    std::string time_key_first;  // "logtime":
    std::string time_key_next;   // ,"logtime":
    std::string message_key;     // ,"msg":
    std::string record_id_key;   // ,"id": (empty: no id)
    std::vector<std::string> level_names;
    std::uint64_t id = next_id();

    static std::uint64_t next_id() {
        static std::atomic<std::uint64_t> counter{0};
        return counter.fetch_add(1, std::memory_order_relaxed) + 1;
    }
};

/// What a formatter learns of an attribute name on first sight: whether options keep it,
/// its encoded key, and its text (the sort key). Per thread, for the last few formatters
/// used on that thread, so nothing is shared or locked while formatting.
struct NameInfo {
    enum class State : unsigned char { unknown, skip, keep };
    State state = State::unknown;
    std::uint32_t rank = 0;  // place of `text` among the names known here, in byte order
    std::string key;  // ,"name": (an attribute always follows the message)
    std::string text;
};

std::vector<NameInfo>& names_of(std::uint64_t formatter_id) {
    struct Slot {
        std::uint64_t formatter = 0;
        std::vector<NameInfo> names;
    };
    thread_local std::array<Slot, 4> slots;
    thread_local std::size_t next_victim = 0;
    for (Slot& slot : slots) {
        if (slot.formatter == formatter_id) return slot.names;
    }
    Slot& slot = slots[next_victim++ % slots.size()];
    slot.formatter = formatter_id;
    slot.names.clear();
    return slot.names;
}

const NameInfo& name_info(const Prepared& p, std::vector<NameInfo>& names, const boost::log::attribute_name& name) {
    const auto id = static_cast<std::size_t>(name.id());
    if (id >= names.size()) names.resize(id + 1);
    NameInfo& info = names[id];
    if (info.state != NameInfo::State::unknown) return info;
    const JsonOptions& o = p.options;
    info.text = name.string();
    const bool included = o.include.empty() || std::find(o.include.begin(), o.include.end(), info.text) != o.include.end();
    const bool excluded = std::find(o.exclude.begin(), o.exclude.end(), info.text) != o.exclude.end();
    info.state = included && !excluded ? NameInfo::State::keep : NameInfo::State::skip;
    const bool clashes = info.text == o.level_key || info.text == o.time_key || info.text == o.message_key ||
                         (!o.record_id_key.empty() && info.text == o.record_id_key);
    info.key = "," + JsonEncoder::encode_key(clashes ? "_" + info.text : info.text);
    // Attributes are written sorted by name: ranks stand for the names' order, so a record
    // sorts integers. A new name (rare: once per name per thread) renumbers them all.
    std::vector<NameInfo*> known;
    for (NameInfo& n : names) {
        if (n.state != NameInfo::State::unknown) known.push_back(&n);
    }
    std::sort(known.begin(), known.end(), [](const NameInfo* a, const NameInfo* b) { return a->text < b->text; });
    for (std::size_t i = 0; i < known.size(); ++i) known[i]->rank = static_cast<std::uint32_t>(i);
    return info;
}

class JsonFormatter {
public:
    JsonFormatter(JsonOptions options, SeverityReader severity)
        : prepared_(std::make_shared<const Prepared>(std::move(options))),
          severity_(severity),
          severity_name_(prepared_->options.severity_attribute),
          time_name_(prepared_->options.time_attribute),
          message_name_("Message") {}

    void operator()(const boost::log::record_view& record, boost::log::formatting_ostream& stream) const {
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
    void format(const boost::log::record_view& record, std::string& out) const {
        struct Attribute {
            const NameInfo* name;  // set once every name is known: the cache may grow before
            std::size_t id;
            const boost::log::attribute_value* value;
        };
        // On the stack for the usual handful of attributes; a per-thread vector beyond.
        constexpr std::size_t on_stack = 16;
        Attribute stack_attributes[on_stack];
        std::size_t count = 0;
        thread_local std::vector<Attribute> spilled;
        const auto add = [&](const Attribute& a) {
            if (count < on_stack) {
                stack_attributes[count] = a;
            } else {
                if (count == on_stack) spilled.assign(stack_attributes, stack_attributes + on_stack);
                spilled.push_back(a);
            }
            ++count;
        };
        const Prepared& p = *prepared_;
        const JsonOptions& o = p.options;
        CaptureDispatcher captured;
        std::vector<NameInfo>& names = names_of(p.id);

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
            } else if (name_info(p, names, name).state == NameInfo::State::keep) {
                add(Attribute{nullptr, static_cast<std::size_t>(name.id()), &value});
            }
        }
        Attribute* const attributes = count <= on_stack ? stack_attributes : spilled.data();
        for (std::size_t i = 0; i < count; ++i) attributes[i].name = &names[attributes[i].id];

        // One cursor for the whole line: the pieces go straight into the string, with one
        // bounds check each and no JsonEncoder bookkeeping (the layout is fixed, so are the
        // commas).
        TextCursor line(out, 256);
        line.put('{');
        bool has_level = false;
        if (severity != nullptr) {
            std::optional<long long> level;
            if (severity_ != nullptr) {
                level = severity_(*severity);
            } else if (captured.capture(*severity)) {
                level = severity_number(captured);
            }
            if (level) {
                has_level = true;
                line.write(p.level_key);
                if (*level >= 0 && static_cast<std::size_t>(*level) < p.level_names.size()) {
                    line.write(p.level_names[static_cast<std::size_t>(*level)]);
                } else {
                    write_integer(line, static_cast<std::int64_t>(*level));
                }
            }
        }
        line.write(has_level ? p.time_key_next : p.time_key_first);
        if (stamp != nullptr && captured.capture(*stamp) && captured.kind() == kind_of_ptime &&
            !captured.as<boost::posix_time::ptime>().is_special()) {
            write_time(line, to_time_point(captured.as<boost::posix_time::ptime>(), o.time_attribute_is_utc), o.utc, true);
        } else {
            write_time(line, Clock::now(), o.utc, true);
        }
        line.write(p.message_key);
        if (message != nullptr) {
            write_value(line, o, *message, captured);
        } else {
            line.write("\"\"");
        }
        if (!p.record_id_key.empty()) {
            line.write(p.record_id_key);
            write_record_id(line, true);
        }

        const auto by_name = [](const Attribute& a, const Attribute& b) { return a.name->rank < b.name->rank; };
        if (count <= on_stack) {
            // Insertion sort: a handful of integers, mostly in order already.
            for (std::size_t i = 1; i < count; ++i) {
                const Attribute a = attributes[i];
                std::size_t j = i;
                for (; j > 0 && by_name(a, attributes[j - 1]); --j) attributes[j] = attributes[j - 1];
                attributes[j] = a;
            }
        } else {
            std::sort(attributes, attributes + count, by_name);
        }
        for (std::size_t i = 0; i < count; ++i) {
            line.write(attributes[i].name->key);
            write_value(line, o, *attributes[i].value, captured);
        }
        line.put('}');
    }

    std::shared_ptr<const Prepared> prepared_;
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
    stream_registry().add(type, renderer);
}

}  // namespace detail

boost::log::formatter json_formatter(JsonOptions options) {
    return detail::make_json_formatter(std::move(options), nullptr);
}

}  // namespace kafka_log
