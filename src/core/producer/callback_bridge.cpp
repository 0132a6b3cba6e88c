// SPDX-License-Identifier: Apache-2.0
#include "callback_bridge.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client_diagnostics.hpp"
#include "delivery_reports.hpp"
#include "report_fields.hpp"
#include "statistics_relay.hpp"

namespace kafka_log::detail {

namespace {

std::string_view bytes_of(const void* data, std::size_t size) noexcept {
    return data != nullptr ? std::string_view(static_cast<const char*>(data), size)
                           : std::string_view();
}

}  // namespace

void CallbackBridge::install(rd_kafka_conf_t* conf) noexcept {
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &CallbackBridge::on_delivery);
    rd_kafka_conf_set_error_cb(conf, &CallbackBridge::on_error);
    rd_kafka_conf_set_log_cb(conf, &CallbackBridge::on_log);
    if (statistics_ != nullptr && statistics_->enabled()) {
        rd_kafka_conf_set_stats_cb(conf, &CallbackBridge::on_statistics);
    }
}

int CallbackBridge::on_statistics(rd_kafka_t*, char* json, std::size_t size, void* bridge) {
    auto* self = static_cast<CallbackBridge*>(bridge);
    if (json != nullptr && self->statistics_ != nullptr) self->statistics_->offer({json, size});
    return 0;  // librdkafka frees the document
}

void CallbackBridge::on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* bridge) {
    static_cast<CallbackBridge*>(bridge)->delivered(rk, *message);
}

void CallbackBridge::on_error(rd_kafka_t* rk, int code, const char* reason, void* bridge) {
    auto* self = static_cast<CallbackBridge*>(bridge);
    if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) self->reports_.all_brokers_down();
    if (code == RD_KAFKA_RESP_ERR__FATAL && rk != nullptr &&
        rd_kafka_fatal_error(rk, nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        self->fatal_.store(rk, std::memory_order_release);
    }
    self->diagnostics_.client_error(code, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(code)),
                                    reason ? reason : "");
}

void CallbackBridge::on_log(const rd_kafka_t* rk, int level, const char* facility,
                            const char* line) {
    auto* self = static_cast<CallbackBridge*>(rd_kafka_opaque(rk));
    if (self) self->diagnostics_.log_line(level, facility ? facility : "", line ? line : "");
}

void CallbackBridge::delivered(rd_kafka_t* client, const rd_kafka_message_t& m) noexcept {
    const ReportFields given = ReportFields::unpack(m._private);  // first: it may own memory
    try {
        MessageView view{m.rkt ? std::string_view(rd_kafka_topic_name(m.rkt)) : std::string_view(),
                         bytes_of(m.key, m.key_len), bytes_of(m.payload, m.len)};
        // Headers: views of librdkafka's copy, valid during the handler. A few fit on the
        // stack; a record without headers costs no allocation.
        std::array<RecordHeader, 8> few;
        std::vector<RecordHeader> many;
        rd_kafka_headers_t* headers = nullptr;
        if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            headers != nullptr) {
            std::size_t count = rd_kafka_header_cnt(headers);
            RecordHeader* out = few.data();
            if (count > few.size()) {
                try {
                    many.resize(count);
                    out = many.data();
                } catch (...) {
                    count = few.size();  // no memory: the first headers, rather than no report
                }
            }
            std::size_t n = 0;
            for (std::size_t i = 0; i < count; ++i) {
                const char* name = nullptr;
                const void* value = nullptr;
                std::size_t size = 0;
                if (rd_kafka_header_get_all(headers, i, &name, &value, &size) !=
                    RD_KAFKA_RESP_ERR_NO_ERROR) {
                    break;
                }
                out[n++] = RecordHeader{name ? std::string_view(name) : std::string_view(),
                                        bytes_of(value, size)};
            }
            view.headers = std::span<const RecordHeader>(out, n);
        }
        // The timestamp produce() was given, if any; else the one librdkafka knows: its own
        // clock's, or the broker's for a LogAppendTime topic. None for a failed record.
        const std::int64_t known = rd_kafka_message_timestamp(&m, nullptr);
        view.timestamp_ms =
            given.timestamp_ms != 0 ? given.timestamp_ms : std::max<std::int64_t>(known, 0);
        view.token = given.token;
        std::optional<DeliveryError> error;
        if (m.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            // A client with a fatal error fails (or purges) what it holds: the fatal error says
            // why. Read only for failures: a delivered record costs nothing more.
            char fatal_reason[256] = "";
            const rd_kafka_resp_err_t fatal =
                client != nullptr ? rd_kafka_fatal_error(client, fatal_reason, sizeof fatal_reason)
                                  : RD_KAFKA_RESP_ERR_NO_ERROR;
            const rd_kafka_resp_err_t code = fatal != RD_KAFKA_RESP_ERR_NO_ERROR ? fatal : m.err;
            error = DeliveryError{
                code,
                fatal != RD_KAFKA_RESP_ERR_NO_ERROR
                    ? std::string("fatal producer error: ") + fatal_reason
                    : std::string(rd_kafka_err2str(m.err)),
                rd_kafka_message_status(&m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED};
        } else {
            reports_.record_delivered();
        }
        // librdkafka's "no offset" is RD_KAFKA_OFFSET_INVALID (-1001); a report says -1.
        const std::int64_t offset = !error && m.offset >= 0 ? m.offset : -1;
        reports_.deliver(view, std::move(error), offset);
    } catch (...) {
        // Building the reason string failed to allocate; nothing sensible is left to do.
    }
}

}  // namespace kafka_log::detail
