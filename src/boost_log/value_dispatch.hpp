// SPDX-License-Identifier: Apache-2.0
#pragma once

// One dispatch per attribute value: which of the natively rendered types a value holds, and
// where.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include <boost/date_time/posix_time/ptime.hpp>
#include <boost/log/attributes/attribute_value.hpp>
#include <boost/log/attributes/current_process_id.hpp>
#include <boost/log/attributes/current_thread_id.hpp>
#include <boost/log/attributes/named_scope.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/string_literal.hpp>
#include <boost/log/utility/type_dispatch/type_dispatcher.hpp>

namespace kafka_log::detail {

/// The value types rendered natively; a value's kind is its type's index here.
using KnownTypes =
    std::tuple<std::string, int, long long, unsigned, unsigned long long, double, bool, const char*,
               boost::log::string_literal, char, signed char, unsigned char, short, unsigned short,
               long, unsigned long, float, long double, boost::posix_time::ptime,
               boost::log::trivial::severity_level, boost::log::attributes::named_scope_list,
               boost::log::aux::thread::id, boost::log::aux::process::id, std::string_view>;

/// Index of `T` in `std::tuple<Ts...>`, or -1 unless it is there exactly once.
template <typename T, typename... Ts>
constexpr int unique_index(const std::tuple<Ts...>*) {
    constexpr bool same[] = {std::is_same_v<T, Ts>...};
    int found = -1;
    int count = 0;
    for (std::size_t i = 0; i < sizeof...(Ts); ++i) {
        if (same[i]) {
            if (found < 0) found = static_cast<int>(i);
            ++count;
        }
    }
    return count == 1 ? found : -1;
}

template <typename T>
constexpr int checked_kind() {
    constexpr int kind = unique_index<T>(static_cast<const KnownTypes*>(nullptr));
    static_assert(kind >= 0, "the type must appear exactly once in KnownTypes");
    return kind;
}

/// The kind of `T`: its place in KnownTypes, found by type and checked at compile time.
template <typename T>
inline constexpr int kind_of = checked_kind<T>();

/// \brief Learns a value's kind and address with one call to its `dispatch`: Boost's `extract`
/// would cost a dispatch per type tried, each comparing type names. The kind of a type is
/// looked up by its `type_info` address in a per-thread cache, filled from KnownTypes on first
/// sight.
///
/// Thread safety: one thread (a formatter makes one per record).
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
    /// The captured value; `T` must be the type of kind().
    template <typename T>
    const T& as() const noexcept {
        return *static_cast<const T*>(address_);
    }
    const void* address() const noexcept { return address_; }

private:
    template <int Kind, typename T>
    static void on_value(void* self, const T& value) noexcept {
        auto* d = static_cast<CaptureDispatcher*>(self);
        d->kind_ = Kind;
        d->address_ = &value;
    }
    static callback_base callback_for(type_dispatcher* self, boost::typeindex::type_index type);
    template <std::size_t... I>
    static callback_base callback_of_kind(CaptureDispatcher* self, int kind,
                                          std::index_sequence<I...>);

    int kind_ = -1;
    const void* address_ = nullptr;
};

/// A captured severity value as a number, when it is a trivial severity or an integer.
inline std::optional<long long> severity_number(const CaptureDispatcher& captured) {
    switch (captured.kind()) {
        case kind_of<boost::log::trivial::severity_level>:
            return static_cast<long long>(captured.as<boost::log::trivial::severity_level>());
        case kind_of<int>:
            return captured.as<int>();
        case kind_of<long long>:
            return captured.as<long long>();
        case kind_of<unsigned>:
            return static_cast<long long>(captured.as<unsigned>());
        case kind_of<long>:
            return captured.as<long>();
        default:
            return std::nullopt;
    }
}

}  // namespace kafka_log::detail
