// SPDX-License-Identifier: Apache-2.0
#include "attribute_name_cache.hpp"

#include <algorithm>

#include "kafka_log/json_writer.hpp"

namespace kafka_log::detail {

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
    const bool clashes = info.text == o.level_key || info.text == o.time_key ||
                         info.text == o.message_key ||
                         (!o.record_id_key.empty() && info.text == o.record_id_key);
    info.key = JsonWriter::quote(clashes ? "_" + info.text : info.text);
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
