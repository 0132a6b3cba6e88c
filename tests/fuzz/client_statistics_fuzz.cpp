// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: parse_client_statistics over arbitrary bytes never crashes, and every
// document a real parser reads as a (not too deep) JSON object it reads too, with the same
// queue depth.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../../src/core/producer/client_statistics.hpp"

namespace {

int depth_of(const nlohmann::json& j) {
    int deepest = 0;
    if (j.is_structured()) {
        for (const auto& child : j) deepest = std::max(deepest, depth_of(child));
        return deepest + 1;
    }
    return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto ours = kafka_log::detail::parse_client_statistics(input);
    // Where nlohmann is more lenient than JSON: it skips a leading BOM and stops at a NUL.
    if (input.starts_with("\xEF\xBB\xBF") || input.find('\0') != std::string_view::npos) return 0;
    const auto theirs = nlohmann::json::parse(input, nullptr, false);
    if (theirs.is_discarded() || !theirs.is_object()) return 0;
    if (depth_of(theirs) >= kafka_log::detail::statistics_max_depth) return 0;
    if (!ours) std::abort();  // a valid object refused
    const auto cnt = theirs.find("msg_cnt");
    if (cnt != theirs.end() && cnt->is_number_unsigned() &&
        cnt->get<std::uint64_t>() != ours->queue_records) {
        std::abort();
    }
    return 0;
}
