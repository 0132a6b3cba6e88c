// SPDX-License-Identifier: Apache-2.0
#include "direct_handover.hpp"

#include <sys/types.h>

#include <string_view>

#include "report_fields.hpp"
#include "single_record.hpp"

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
    const SingleRecord single{.payload = record.payload,
                              .key = record.key,
                              .timestamp_ms = record.timestamp_ms,
                              .token = record.token,
                              .header_count = record.headers.size()};
    return produce_single_record(client, topic, single, [&record](rd_kafka_headers_t* headers) {
        for (const RecordHeader& header : record.headers)
            add_header(headers, header.name, header.value);
    });
}

}  // namespace kafka_log::detail
