// SPDX-License-Identifier: Apache-2.0
#include "direct_handover.hpp"

#include <sys/types.h>

#include <string_view>

#include "report_fields.hpp"

namespace kafka_log::detail {

rd_kafka_resp_err_t DirectHandover::send_plain(rd_kafka_t* client, rd_kafka_topic_t* topic,
                                               const MessageView& record) noexcept {
    // A token alone never allocates (ReportFields' token form): nothing to free on refusal.
    const std::string_view key = record.key;
    return rd_kafka_producev(
        client, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char*>(record.payload.data()), record.payload.size()),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
        RD_KAFKA_V_OPAQUE(ReportFields::pack(0, record.token)), RD_KAFKA_V_END);
}

rd_kafka_resp_err_t DirectHandover::send_with_metadata(rd_kafka_t* client, rd_kafka_topic_t* topic,
                                                       const MessageView& record) noexcept {
    rd_kafka_headers_t* headers = nullptr;
    if (!record.headers.empty()) {
        headers = rd_kafka_headers_new(record.headers.size());
        for (const RecordHeader& header : record.headers) {
            // Sizes are explicit: a value may hold any byte, NUL included. An empty value is
            // sent as an empty value, not a null one.
            rd_kafka_header_add(headers, header.name.empty() ? "" : header.name.data(),
                                static_cast<ssize_t>(header.name.size()),
                                header.value.empty() ? "" : header.value.data(),
                                static_cast<ssize_t>(header.value.size()));
        }
    }
    const std::string_view payload = record.payload;
    const std::string_view key = record.key;
    void* const opaque = ReportFields::pack(record.timestamp_ms, record.token);
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        client, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_TIMESTAMP(record.timestamp_ms), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    // librdkafka owns the headers (and the opaque's report) only when it took the record.
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (headers != nullptr) rd_kafka_headers_destroy(headers);
        ReportFields::unpack(opaque);
    }
    return err;
}

}  // namespace kafka_log::detail
