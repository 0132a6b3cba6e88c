// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/kafka_sink_backend.hpp"

#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include <boost/log/attributes/value_visitation.hpp>
#include <boost/mpl/vector.hpp>

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

}  // namespace

KafkaSinkBackend::KafkaSinkBackend(std::shared_ptr<KafkaWriter> writer, SinkOptions options)
    : writer_(std::move(writer)), options_(std::move(options)) {
    if (!writer_) throw std::invalid_argument("kafka_log::KafkaSinkBackend: writer is null");
    if (!options_.key_attribute.empty()) key_name_.emplace(options_.key_attribute);
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
    writer_->write(formatted, key);
}

void KafkaSinkBackend::flush() {
    writer_->flush(options_.flush_timeout);
}

}  // namespace kafka_log
