// SPDX-License-Identifier: Apache-2.0
#pragma once

// What json_formatter learns of an attribute name on first sight, kept per thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/log/attributes/attribute_name.hpp>

#include "kafka_log/json_options.hpp"

namespace kafka_log::detail {

/// What a formatter makes of one attribute name.
struct AttributeNameInfo {
    enum class State : unsigned char { unknown, skip, keep };
    State state = State::unknown;
    std::uint32_t rank = 0;  // place of `text` among the names known here, in byte order
    std::string key;         // "name" (or "_name" when it clashes with a fixed key), quoted
    std::string text;
};

/// How many underscores go in front of attribute `name`'s key so that it shares its key with
/// neither a fixed key of `options` (level, time, message, record id) nor another attribute:
/// 0 unless the name, less its leading underscores, is such a key less its own.
std::size_t clash_prefix(const JsonOptions& options, std::string_view name);

/// \brief One formatter's knowledge of attribute names on one thread: whether its options keep
/// a name, its encoded key and its rank in byte order (attributes are written sorted by name).
/// Indexed by the name's id, so a lookup is an index once a name is known.
///
/// Thread safety: per thread. for_formatter() keeps the caches of the last four formatters
/// used on the calling thread (the oldest is evicted), so nothing is shared or locked while
/// formatting.
class AttributeNameCache {
public:
    /// This thread's cache for the formatter numbered `formatter_id` (empty when new here).
    /// Inline: it runs once per record.
    static AttributeNameCache& for_formatter(std::uint64_t formatter_id) {
        struct Slot {
            std::uint64_t formatter = 0;
            AttributeNameCache cache;
        };
        thread_local std::array<Slot, 4> slots;
        thread_local std::size_t next_victim = 0;
        for (Slot& slot : slots) {
            if (slot.formatter == formatter_id) return slot.cache;
        }
        Slot& slot = slots[next_victim++ % slots.size()];
        slot.formatter = formatter_id;
        slot.cache.names_.clear();
        return slot.cache;
    }

    /// What `options` make of `name`, learnt on first sight.
    const AttributeNameInfo& info(const JsonOptions& options,
                                  const boost::log::attribute_name& name) {
        const auto id = static_cast<std::size_t>(name.id());
        if (id < names_.size() && names_[id].state != AttributeNameInfo::State::unknown) {
            return names_[id];
        }
        return learn(options, name);
    }
    /// The name with id `id`, learnt before by info(). Stable until the next info() call that
    /// learns a name.
    const AttributeNameInfo& known(std::size_t id) const noexcept { return names_[id]; }

private:
    const AttributeNameInfo& learn(const JsonOptions& options,
                                   const boost::log::attribute_name& name);

    std::vector<AttributeNameInfo> names_;
};

}  // namespace kafka_log::detail
