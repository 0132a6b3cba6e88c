// SPDX-License-Identifier: Apache-2.0
#include "attribute_name_cache.hpp"

#include <algorithm>

#include "kafka_log/json_writer.hpp"

namespace kafka_log::detail {

namespace {

std::string_view without_leading_underscores(std::string_view text) {
    const std::size_t n = text.find_first_not_of('_');
    return n == std::string_view::npos ? std::string_view() : text.substr(n);
}

}  // namespace

std::size_t clash_prefix(const JsonOptions& o, std::string_view name) {
    // The names that could clash are the fixed keys with any number of underscores in front;
    // every one of them gets as many more as the longest such key has, plus one. So `msg`
    // becomes `_msg` and `_msg` `__msg` (with the default keys), and no two names, nor a name
    // and a fixed key, share a key.
    const std::string_view core = without_leading_underscores(name);
    std::size_t prefix = 0;
    for (const std::string* key : {&o.level_key, &o.time_key, &o.message_key, &o.record_id_key}) {
        if (key->empty() || without_leading_underscores(*key) != core) continue;
        prefix = std::max(prefix, key->size() - core.size() + 1);
    }
    return prefix;
}

const AttributeNameInfo& AttributeNameCache::learn(const JsonOptions& o,
                                                   const boost::log::attribute_name& name) {
    const auto id = static_cast<std::size_t>(name.id());
    if (id >= names_.size()) names_.resize(id + 1);
    AttributeNameInfo& info = names_[id];
    info.text = name.string();
    const auto listed = [&](const std::vector<std::string>& names) {
        return std::find(names.begin(), names.end(), info.text) != names.end();
    };
    const bool included = o.include.empty() || listed(o.include);
    const bool excluded = listed(o.exclude);
    info.state =
        included && !excluded ? AttributeNameInfo::State::keep : AttributeNameInfo::State::skip;
    info.key = JsonWriter::quote(std::string(clash_prefix(o, info.text), '_') + info.text);
    // Attributes are written sorted by name: ranks stand for the names' order, so a record
    // sorts integers. A new name (rare: once per name per thread) renumbers them all.
    std::vector<AttributeNameInfo*> known;
    for (AttributeNameInfo& n : names_) {
        if (n.state != AttributeNameInfo::State::unknown) known.push_back(&n);
    }
    const auto by_text = [](const AttributeNameInfo* a, const AttributeNameInfo* b) {
        return a->text < b->text;
    };
    std::sort(known.begin(), known.end(), by_text);
    for (std::size_t i = 0; i < known.size(); ++i) known[i]->rank = static_cast<std::uint32_t>(i);
    return info;
}

}  // namespace kafka_log::detail
