// SPDX-License-Identifier: Apache-2.0
#pragma once

// CallbackBridge: librdkafka's C callbacks, turned into the producer's C++ events. A delivery
// report becomes a DeliveryReport (headers, timestamp and token restored) for DeliveryReports;
// "all brokers down" and each delivered record become cluster state changes; log lines and
// client errors go to ClientDiagnostics. No C++ exception crosses back into librdkafka.
//
// Thread safety: the callbacks run on whichever thread calls rd_kafka_poll for the handle
// (the producer's poll thread, or the thread closing it).

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstddef>

namespace kafka_log::detail {

class ClientDiagnostics;
class DeliveryReports;
class StatisticsRelay;

class CallbackBridge {
public:
    /// Both must outlive every handle this bridge is installed on.
    /// `statistics`: where statistics documents go (null, or not enabled: none are asked for).
    CallbackBridge(DeliveryReports& reports, ClientDiagnostics& diagnostics,
                   StatisticsRelay* statistics = nullptr) noexcept
        : reports_(reports), diagnostics_(diagnostics), statistics_(statistics) {}

    CallbackBridge(const CallbackBridge&) = delete;
    CallbackBridge& operator=(const CallbackBridge&) = delete;

    /// Routes the callbacks of the handle made from `conf` to this bridge (it becomes the
    /// conf's opaque). The handle must be destroyed before the bridge.
    void install(rd_kafka_conf_t* conf) noexcept;

    /// The client a fatal error was last raised on, if not taken yet (null: none); the poll
    /// thread passes it to ClientRecovery. A failed record of a client in that state is
    /// reported with the fatal error's code, whatever librdkafka's own (a purge, say).
    rd_kafka_t* take_fatal() noexcept {
        return fatal_.load(std::memory_order_relaxed) == nullptr
                   ? nullptr
                   : fatal_.exchange(nullptr, std::memory_order_acq_rel);
    }

private:
    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* bridge);
    static void on_error(rd_kafka_t*, int code, const char* reason, void* bridge);
    static void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* line);
    static int on_statistics(rd_kafka_t*, char* json, std::size_t size, void* bridge);

    void delivered(rd_kafka_t* client, const rd_kafka_message_t& message) noexcept;

    DeliveryReports& reports_;
    ClientDiagnostics& diagnostics_;
    std::atomic<rd_kafka_t*> fatal_{nullptr};
    StatisticsRelay* statistics_;
};

}  // namespace kafka_log::detail
