// SPDX-License-Identifier: Apache-2.0
#pragma once

// produce_single_record: one record handed to librdkafka with rd_kafka_producev, with its
// headers, its timestamp and its report fields. rd_kafka_produce_batch carries neither headers
// nor a timestamp, so a record with either goes this way, from the calling thread
// (DirectHandover) or from the producer's thread (HandoffBatches, out of a ring slot).

#include <librdkafka/rdkafka.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "report_fields.hpp"

namespace kafka_log::detail {

/// Adds one header. Sizes are explicit: a name or value may hold any byte, NUL included; an
/// empty value is sent as an empty value, not a null one.
inline void add_header(rd_kafka_headers_t* headers, std::string_view name,
                       std::string_view value) noexcept {
    rd_kafka_header_add(headers, name.empty() ? "" : name.data(), static_cast<ssize_t>(name.size()),
                        value.empty() ? "" : value.data(), static_cast<ssize_t>(value.size()));
}

/// The fields of one record, as produce_single_record sends them.
struct SingleRecord {
    std::string_view payload;
    std::string_view key;  ///< empty: none
    std::int64_t timestamp_ms = 0;
    std::uint64_t token = 0;
    std::size_t header_count = 0;
};

/// Sends `record`; `add_headers(rd_kafka_headers_t*)` adds its `header_count` headers (with
/// add_header), and is not called when there are none. librdkafka owns the headers and the
/// report fields only when it took the record; on a refusal they are freed here and the error
/// returned.
template <typename AddHeaders>
rd_kafka_resp_err_t produce_single_record(rd_kafka_t* client, rd_kafka_topic_t* topic,
                                          const SingleRecord& record,
                                          AddHeaders&& add_headers) noexcept {
    rd_kafka_headers_t* headers = nullptr;
    if (record.header_count > 0) {
        headers = rd_kafka_headers_new(record.header_count);
        add_headers(headers);
    }
    // A token alone never allocates; a timestamp with a token may (ReportFields).
    void* const opaque = ReportFields::pack(record.timestamp_ms, record.token);
    const std::string_view payload = record.payload;
    const std::string_view key = record.key;
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        client, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_TIMESTAMP(record.timestamp_ms), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (headers != nullptr) rd_kafka_headers_destroy(headers);
        ReportFields::unpack(opaque);
    }
    return err;
}

}  // namespace kafka_log::detail
