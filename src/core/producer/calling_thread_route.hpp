// SPDX-License-Identifier: Apache-2.0
#pragma once

// CallingThreadRoute: ProduceOn::calling_thread. produce() hands each record to librdkafka on
// the calling thread; librdkafka's own queue bound answers `queue_full`. The poll thread only
// serves callbacks.
//
// Thread safety: produce() from any thread; serve_once() and the closing steps from the
// serving thread (see RdKafkaProducerImpl).

#include <librdkafka/rdkafka.h>

#include <cstddef>

#include "client_recovery.hpp"
#include "delivery_reports.hpp"
#include "direct_handover.hpp"
#include "topic_cache.hpp"

namespace kafka_log::detail {

class CallingThreadRoute {
public:
    CallingThreadRoute(const ClientRecovery& clients, DirectHandover& handover) noexcept
        : clients_(clients), handover_(handover) {}

    CallingThreadRoute(const CallingThreadRoute&) = delete;
    CallingThreadRoute& operator=(const CallingThreadRoute&) = delete;

    /// Offers a record counted in on `stripe`; see DirectHandover for the answers.
    ProduceStatus produce(std::size_t /*stripe*/, const MessageView& record) {
        ClientSession& session = clients_.current();
        return handover_.hand_over(session.client(), session.topics().handle(record.topic), record,
                                   [] {});
    }

    /// One turn of the poll thread: serve callbacks (rd_kafka_yield() ends the wait early),
    /// then `settle_served()`.
    template <typename SettleServed>
    void serve_once(SettleServed&& settle_served) noexcept {
        rd_kafka_poll(clients_.get(), 100);
        settle_served();
    }

    /// Reports served: librdkafka's queue keeps its own count; nothing to give back.
    void return_credit(const DeliveryReports::Served& /*served*/) noexcept {}

    // Closing steps: librdkafka holds every accepted record, and rd_kafka_purge covers them.
    void purge_from_now() noexcept {}
    void stop_retrying() noexcept {}
    void report_leftovers_purged() noexcept {}

private:
    const ClientRecovery& clients_;
    DirectHandover& handover_;
};

}  // namespace kafka_log::detail
