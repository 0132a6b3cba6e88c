// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/kafka_sink_backend.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/log/attributes/value_visitation.hpp>
#include <boost/mpl/vector.hpp>

#include "attribute_value_json.hpp"

namespace kafka_log {

namespace {

using key_value_types = boost::mpl::vector<std::string, std::string_view, const char*, int, long,
                                           long long, unsigned, unsigned long, unsigned long long>;

/// Renders a key attribute value into a small buffer without allocating for integers.
struct KeyRenderer {
    using result_type = void;
    std::string_view* out;
    char* buffer;
    std::size_t capacity;

    void operator()(const std::string& v) const noexcept { *out = v; }
    void operator()(std::string_view v) const noexcept { *out = v; }
    void operator()(const char* v) const noexcept {
        *out = v ? std::string_view(v) : std::string_view();
    }
    template <typename Int>
    requires std::is_integral_v<Int>
    void operator()(Int v) const noexcept {
        const auto result = std::to_chars(buffer, buffer + capacity, v);
        *out = std::string_view(buffer, static_cast<std::size_t>(result.ptr - buffer));
    }
};

/// A thread's buffers for header values: reused record after record, so headers cost no
/// allocation once they have grown to fit.
struct HeaderScratch {
    /// One rendered header: its attribute's index and where its value is in `values`.
    struct Rendered {
        std::size_t attribute;
        std::size_t begin;
        std::size_t end;
    };
    std::string values;   // every value's text, back to back
    std::string payload;  // the formatted record, when a value's rendering may log
    std::vector<Rendered> rendered;
    std::vector<RecordHeader> headers;
};

}  // namespace

KafkaSinkBackend::KafkaSinkBackend(std::shared_ptr<KafkaWriter> writer, SinkOptions options)
    : writer_(std::move(writer)), options_(std::move(options)) {
    if (!writer_) throw std::invalid_argument("kafka_log::KafkaSinkBackend: writer is null");
    if (!options_.key_attribute.empty()) key_name_.emplace(options_.key_attribute);
    for (std::size_t i = 0; i < options_.header_attributes.size(); ++i) {
        if (options_.header_attributes[i].empty()) {
            throw std::invalid_argument(
                "kafka_log::KafkaSinkBackend: SinkOptions::header_attributes[" + std::to_string(i) +
                "] is an empty attribute name");
        }
        header_names_.emplace_back(options_.header_attributes[i]);
    }
}

void KafkaSinkBackend::consume(const boost::log::record_view& record,
                               const string_type& formatted) {
    std::string_view key;
    char buffer[24];
    if (key_name_) {
        try {
            boost::log::visit<key_value_types>(*key_name_, record.attribute_values(),
                                               KeyRenderer{&key, buffer, sizeof buffer});
        } catch (...) {
            key = {};  // an unreadable key never costs the record
        }
    }
    if (header_names_.empty()) {
        writer_->write(formatted, key);
        return;
    }
    write_with_headers(record, formatted, key);
}

void KafkaSinkBackend::write_with_headers(const boost::log::record_view& record,
                                          const string_type& formatted,
                                          std::string_view key) noexcept {
    // The thread's buffers, unless this thread logged while an outer record still uses them
    // (a value's renderer that logs): then buffers of this call's own.
    thread_local HeaderScratch shared;
    thread_local bool busy = false;
    std::optional<HeaderScratch> own;
    const bool nested = busy;
    HeaderScratch* scratch = &shared;
    std::span<const RecordHeader> headers;
    std::string_view payload = formatted;
    try {
        if (nested) scratch = &own.emplace();
        busy = true;
        scratch->values.clear();
        scratch->rendered.clear();
        scratch->headers.clear();
        const boost::log::attribute_value_set& values = record.attribute_values();
        detail::CaptureDispatcher captured;
        for (std::size_t i = 0; i < header_names_.size(); ++i) {
            const auto found = values.find(header_names_[i]);
            if (found == values.end() || !found->second) continue;  // absent: no header
            const std::size_t begin = scratch->values.size();
            if (payload.data() == formatted.data() && !captured.capture(found->second)) {
                // Rendered by user code (operator<<), which may log: the frontend would format
                // that record into the buffer `formatted` lives in. Keep the record's copy.
                scratch->payload.assign(formatted);
                payload = scratch->payload;
            }
            try {
                detail::write_attribute_text(scratch->values, options_.header_format, found->second,
                                             captured);
                scratch->rendered.push_back({i, begin, scratch->values.size()});
            } catch (...) {
                scratch->values.resize(begin);  // this header is left out, never the record
            }
        }
        // The views are taken once every value is in place (the string may have moved).
        const std::string_view text = scratch->values;
        for (const HeaderScratch::Rendered& r : scratch->rendered) {
            scratch->headers.push_back(RecordHeader{options_.header_attributes[r.attribute],
                                                    text.substr(r.begin, r.end - r.begin)});
        }
        headers = scratch->headers;
    } catch (...) {
        headers = {};  // no memory for the headers: the record goes without them
    }
    writer_->write(payload, key, headers);
    busy = nested;  // only now: `headers` views the buffers until the writer is done
}

void KafkaSinkBackend::flush() {
    writer_->flush(options_.flush_timeout);
}

}  // namespace kafka_log
