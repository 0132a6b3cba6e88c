// SPDX-License-Identifier: Apache-2.0
#pragma once

// OfflineClient: a real librdkafka client whose broker nobody runs (127.0.0.1:1), with the
// parts a producer part reports to, for the unit tests of those parts. Records wait in
// librdkafka's queue until a test purges them.

#include <chrono>
#include <cstddef>
#include <string_view>

#include "../../src/core/producer/callback_bridge.hpp"
#include "../../src/core/producer/client_diagnostics.hpp"
#include "../../src/core/producer/client_handle.hpp"
#include "../../src/core/producer/client_recovery.hpp"
#include "../../src/core/producer/delivery_reports.hpp"

namespace kafka_log::detail {

/// Records librdkafka holds: rd_kafka_outq_len() less the events (log lines, errors) waiting
/// in the main queue, read when no event came in between.
inline int records_in_librdkafka(rd_kafka_t* client) {
    rd_kafka_queue_t* main = rd_kafka_queue_get_main(client);
    for (;;) {
        const std::size_t before = rd_kafka_queue_length(main);
        const int out = rd_kafka_outq_len(client);
        if (rd_kafka_queue_length(main) == before) {
            rd_kafka_queue_destroy(main);
            return out - static_cast<int>(before);
        }
    }
}

/// The client and what it reports to; a test's own parts are members of a struct deriving
/// from it, so they are made after the client and go before it.
struct OfflineClient {
    explicit OfflineClient(ProducerConfig user = {})
        : config(effective_config(user.set("bootstrap.servers", "127.0.0.1:1"))),
          diagnostics([](int, std::string_view, std::string_view) {}, [](int, std::string_view) {},
                      config) {}
    OfflineClient(const OfflineClient&) = delete;
    OfflineClient& operator=(const OfflineClient&) = delete;

    /// Records librdkafka holds now.
    int queued() { return records_in_librdkafka(client.get()); }

    /// Purges what a test left in librdkafka's queue and serves its reports, as the producer's
    /// close does: a report frees what a record carries through librdkafka. Call it from the
    /// deriving struct's destructor, while the delivery handler's state is still alive.
    void purge_and_serve() {
        rd_kafka_purge(client.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (rd_kafka_outq_len(client.get()) > 0 && std::chrono::steady_clock::now() < deadline)
            rd_kafka_poll(client.get(), 10);
    }

    const ProducerConfig config;
    DeliveryReports reports;
    ClientDiagnostics diagnostics;
    CallbackBridge bridge{reports, diagnostics};
    ClientRecovery client{config, bridge};  // get(): its current client
};

}  // namespace kafka_log::detail
