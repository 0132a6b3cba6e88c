// SPDX-License-Identifier: Apache-2.0
#pragma once

// DirectHandover: hands one record to librdkafka on the calling thread and turns librdkafka's
// answer into the caller's ProduceStatus:
// - taken: `accepted`;
// - a full queue or a record too large: `queue_full` / `too_large`, the record counted out of
//   InFlightCount at once (and the caller's refund run, for credit it took);
// - any other refusal (an unknown or unauthorized topic, a fatal producer error): `accepted`,
//   the record kept by RefusedRecords to be reported failed from the poll thread, which is
//   woken.
//
// Thread safety: hand_over() from any thread.

#include <librdkafka/rdkafka.h>

#include <exception>

#include "in_flight_count.hpp"
#include "kafka_log/async_producer.hpp"
#include "refused_records.hpp"

namespace kafka_log::detail {

class DirectHandover {
public:
    /// Both outlive this object.
    DirectHandover(RefusedRecords& refused, InFlightCount& in_flight) noexcept
        : refused_(refused), in_flight_(in_flight) {}

    /// Hands `record` to `client` for `topic`, one of `client`'s (null: making the topic
    /// failed). `refund()` is
    /// called (noexcept) when the record is refused after all, before it is counted out.
    /// \throws std::bad_alloc when a refused record cannot be kept: it is counted out and
    /// refunded, and stays the caller's.
    template <typename Refund>
    ProduceStatus hand_over(rd_kafka_t* client, rd_kafka_topic_t* topic, const MessageView& record,
                            Refund&& refund) {
        const rd_kafka_resp_err_t err = topic == nullptr ? rd_kafka_last_error()
                                        : has_metadata(record)
                                            ? send_with_metadata(client, topic, record)
                                            : send_plain(client, topic, record);
        switch (err) {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                return ProduceStatus::accepted;
            case RD_KAFKA_RESP_ERR__QUEUE_FULL:
                refund();
                in_flight_.count_out(1);
                return ProduceStatus::queue_full;
            case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
                refund();
                in_flight_.count_out(1);
                return ProduceStatus::too_large;
            default:
                break;
        }
        // Its credit, if any, goes back with its report. A failed client's refusal names its
        // fatal error, not librdkafka's `_FATAL`.
        const rd_kafka_resp_err_t code =
            err == RD_KAFKA_RESP_ERR__FATAL && client != nullptr ? fatal_error_of(client) : err;
        try {
            refused_.keep(record, DeliveryError{code, rd_kafka_err2str(code), false});
        } catch (...) {
            refund();
            in_flight_.count_out(1);
            throw;  // the caller's record is still its own: KafkaWriter sends it to the fallback
        }
        rd_kafka_yield(client);
        return ProduceStatus::accepted;
    }

    /// True when the record carries what only a direct hand-over sends: headers or a
    /// timestamp of its own.
    static bool has_metadata(const MessageView& record) noexcept {
        return !record.headers.empty() || record.timestamp_ms != 0;
    }

private:
    static rd_kafka_resp_err_t fatal_error_of(rd_kafka_t* client) noexcept {
        const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(client, nullptr, 0);
        return fatal != RD_KAFKA_RESP_ERR_NO_ERROR ? fatal : RD_KAFKA_RESP_ERR__FATAL;
    }
    static rd_kafka_resp_err_t send_plain(rd_kafka_t* client, rd_kafka_topic_t* topic,
                                          const MessageView& record) noexcept;
    static rd_kafka_resp_err_t send_with_metadata(rd_kafka_t* client, rd_kafka_topic_t* topic,
                                                  const MessageView& record) noexcept;

    RefusedRecords& refused_;
    InFlightCount& in_flight_;
};

}  // namespace kafka_log::detail
