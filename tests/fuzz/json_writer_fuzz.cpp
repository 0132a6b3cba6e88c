// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: whatever bytes a record carries, JsonWriter writes one line of valid
// JSON, and valid UTF-8 comes back unchanged through a real parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kafka_log/json_writer.hpp"

namespace {

/// An independent UTF-8 check: nlohmann's serializer refuses invalid UTF-8.
bool valid_utf8(std::string_view s) {
    try {
        (void)nlohmann::json(std::string(s)).dump();
        return true;
    } catch (const nlohmann::json::type_error&) {
        return false;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::string_view key = input.substr(0, size / 3);
    double number = 0;
    if (size >= sizeof number) std::memcpy(&number, data, sizeof number);

    std::string out;
    kafka_log::JsonWriter json(out);
    json.begin_object();
    json.key("k");
    json.string(key);
    json.key("v");
    json.string(input);
    json.key("d");
    json.number(number);
    json.key("a");
    json.begin_array();
    json.number(static_cast<std::int64_t>(size));
    json.string(input.substr(size / 2));
    json.end_array();
    json.raw_key(kafka_log::JsonWriter::quote(key));  // pre-encoded: the same text as key()
    json.raw_value(kafka_log::JsonWriter::quote(input));
    json.end_object();

    if (out.find('\n') != std::string::npos) std::abort();  // a record is one line
    const auto parsed = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) std::abort();  // not valid JSON
    if (valid_utf8(input) && parsed["v"].get<std::string>() != input) std::abort();  // altered text
    return 0;
}
