// SPDX-License-Identifier: Apache-2.0
#include "value_dispatch.hpp"

#include <array>
#include <cstdint>
#include <typeinfo>
#include <utility>

namespace kafka_log::detail {

namespace {

template <std::size_t... I>
int find_kind(const boost::typeindex::type_index& type, std::index_sequence<I...>) {
    int kind = -1;
    ((kind < 0 && type == boost::typeindex::type_id<std::tuple_element_t<I, KnownTypes>>()
          ? (kind = static_cast<int>(I))
          : 0),
     ...);
    return kind;
}

constexpr auto all_kinds = std::make_index_sequence<std::tuple_size_v<KnownTypes>>{};

}  // namespace

template <std::size_t... I>
boost::log::type_dispatcher::callback_base CaptureDispatcher::callback_of_kind(
    CaptureDispatcher* self, int kind, std::index_sequence<I...>) {
    using Maker = callback_base (*)(void*);
    static constexpr std::array<Maker, sizeof...(I)> table = {[](void* d) {
        using T = std::tuple_element_t<I, KnownTypes>;
        return callback_base(d, &on_value<static_cast<int>(I), T>);
    }...};
    return table[static_cast<std::size_t>(kind)](self);
}

boost::log::type_dispatcher::callback_base CaptureDispatcher::callback_for(
    type_dispatcher* self, boost::typeindex::type_index type) {
    // A small direct-mapped cache keyed by the type_info address: a record's few value types
    // each find their kind with one compare.
    struct Entry {
        const std::type_info* type = nullptr;
        int kind = -1;
    };
    thread_local std::array<Entry, 64> cache{};
    const std::type_info* key = &type.type_info();
    Entry& entry = cache[(reinterpret_cast<std::uintptr_t>(key) >> 4) % cache.size()];
    if (entry.type != key) {
        entry.kind = find_kind(type, all_kinds);
        entry.type = key;
    }
    if (entry.kind < 0) return callback_base();
    return callback_of_kind(static_cast<CaptureDispatcher*>(self), entry.kind, all_kinds);
}

}  // namespace kafka_log::detail
