// SPDX-License-Identifier: Apache-2.0
// RdKafkaProducer and the facade behind its pimpl: the parts in src/core/producer/ put
// together, the poll thread, the close protocol and the forked-child rules.
#include "kafka_log/rdkafka_producer.hpp"

#include <pthread.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <utility>
#include <variant>

#include "../detail/callback_scope.hpp"
#include "../detail/fork_generation.hpp"
#include "../detail/thread_number.hpp"
#include "producer/callback_bridge.hpp"
#include "producer/calling_thread_route.hpp"
#include "producer/client_diagnostics.hpp"
#include "producer/client_handle.hpp"
#include "producer/client_recovery.hpp"
#include "producer/delivery_reports.hpp"
#include "producer/direct_handover.hpp"
#include "producer/in_flight_count.hpp"
#include "producer/producer_thread_route.hpp"
#include "producer/refused_records.hpp"
#include "producer/statistics_relay.hpp"
#include "producer/test_seam.hpp"

namespace kafka_log {
namespace detail {

namespace {

using Clock = std::chrono::steady_clock;

/// The sequence of thread numbers that picks a logging thread's stripe (its in-flight
/// counter, its queue credit and its hand-off lane); only threads that produce take one.
struct StripeSequence {};

constexpr std::size_t stripe_count = InFlightCount::stripe_count;
static_assert(QueueCredit::stripe_count == stripe_count &&
                  HandoffLanes<HandoffTag>::lane_count == stripe_count,
              "a thread's stripe indexes its in-flight counter, its credit and its lane");

}  // namespace

/// The producer: librdkafka's handle and the parts around it, one route (ProduceOn) chosen at
/// construction, the poll thread, and the close protocol.
///
/// In flight = records counted in by produce() and not yet counted out. produce() counts
/// itself in before it reads closed_, so close() waiting for zero cannot miss a late record.
/// The thread serving reports (the poll thread, then close() once it is joined) counts them
/// out a batch at a time (settle_served).
class RdKafkaProducerImpl {
public:
    RdKafkaProducerImpl(ProducerConfig config, RdKafkaOptions options);
    ~RdKafkaProducerImpl();

    RdKafkaProducerImpl(const RdKafkaProducerImpl&) = delete;
    RdKafkaProducerImpl& operator=(const RdKafkaProducerImpl&) = delete;

    /// True in a process forked after this producer was made: the poll thread and
    /// librdkafka's threads do not exist here, and any lock may have been held by one of them
    /// at the fork.
    bool forked() const noexcept { return in_forked_child(generation_); }
    /// Used instead of destruction in a forked child: the destructor would join a poll thread
    /// that does not exist here (or std::thread's destructor would terminate), call
    /// rd_kafka_destroy (which waits for librdkafka's threads) and destroy topic handles under
    /// librdkafka locks a vanished thread may hold. The producer is kept whole, on a list
    /// reachable from a global (LeakSanitizer does not report it), until the child exits.
    static void abandon(std::unique_ptr<RdKafkaProducerImpl> impl) noexcept;

    void set_delivery_handler(DeliveryHandler handler) {
        if (forked()) return;  // no report will ever be served here
        reports_.set_delivery_handler(std::move(handler));
    }
    void set_cluster_state_handler(ClusterStateHandler handler) {
        if (forked()) return;
        reports_.set_cluster_state_handler(std::move(handler));
    }

    ProduceStatus produce(const MessageView& message) {
        // In a forked child nothing reaches librdkafka (its threads are the parent's): the
        // caller keeps its record. Checked before counting in: the parent's counts stay as they
        // were.
        if (forked()) return ProduceStatus::closed;
        const std::size_t stripe = thread_number<StripeSequence>() % stripe_count;
        in_flight_.count_in(stripe);
        if (closed_.load(std::memory_order_seq_cst)) {
            in_flight_.count_out(1);
            return ProduceStatus::closed;
        }
        return std::visit([&](auto& route) { return route.produce(stripe, message); }, route_);
    }

    bool flush(std::chrono::milliseconds timeout) {
        // In a forked child nothing of the child's is ever in flight (produce refuses), and
        // the parent's records will never be reported here: nothing to wait for.
        if (forked()) return true;
        return in_flight_.wait_until_idle(Clock::now() + timeout);
    }

    void close(std::chrono::milliseconds timeout);

    std::string redacted_config() const { return config_.redacted(); }
    std::uint64_t in_flight() const noexcept {
        // The child accepts nothing; the parent's records are the parent's.
        return forked() ? 0 : in_flight_.in_flight();
    }
    bool cluster_unreachable() const noexcept { return reports_.cluster_unreachable(); }
    std::uint64_t recreations() const noexcept { return client_.recreations(); }
    rd_kafka_t* current_client() const noexcept { return client_.get(); }
    ClientStats client_stats() const noexcept {
        ClientStats stats = statistics_.stats();
        stats.delivered_without_offset = reports_.delivered_without_offset();
        return stats;
    }
    std::chrono::milliseconds close_timeout() const noexcept { return close_timeout_; }

private:
    using Route = std::variant<CallingThreadRoute, ProducerThreadRoute>;
    Route make_route(const RdKafkaOptions& options);

    /// The poll thread: serves refused records and the route's turns until close() stops it.
    template <typename AnyRoute>
    void poll_loop(AnyRoute& route) noexcept;
    /// Counts the reports served so far out of the in-flight count, and gives their credit
    /// back. The serving thread's.
    template <typename AnyRoute>
    void settle_served(AnyRoute& route) noexcept;
    template <typename AnyRoute>
    void close_with(AnyRoute& route, std::chrono::milliseconds timeout);

    const std::uint64_t generation_ = fork_generation();  // the process this producer was made in
    const std::chrono::milliseconds close_timeout_;
    const ProducerConfig config_;  // effective: defaults + user's
    DeliveryReports reports_;      // written on every report: lines of its own (alignas(64))
    ClientDiagnostics diagnostics_;
    StatisticsRelay statistics_;  // its thread outlives the handle: joined after client_ is gone
    CallbackBridge bridge_;
    ClientRecovery client_;  // destroyed after everything that uses its handles below
    InFlightCount in_flight_;
    RefusedRecords refused_;
    DirectHandover handover_;
    Route route_;
    alignas(64) std::atomic<bool> closed_{false};  // read by every produce(): a line of its own
    std::atomic<bool> stop_{false};
    std::once_flag close_once_;
    std::thread poller_;
    RdKafkaProducerImpl* next_abandoned_ = nullptr;  // see abandon()
};

void RdKafkaProducerImpl::abandon(std::unique_ptr<RdKafkaProducerImpl> impl) noexcept {
    // Lock-free: a mutex could have been held by one of the parent's threads at the fork.
    static constinit std::atomic<RdKafkaProducerImpl*> abandoned{nullptr};
    RdKafkaProducerImpl* raw = impl.release();
    raw->next_abandoned_ = abandoned.load(std::memory_order_relaxed);
    while (!abandoned.compare_exchange_weak(raw->next_abandoned_, raw, std::memory_order_release,
                                            std::memory_order_relaxed)) {
    }
}

RdKafkaProducerImpl::RdKafkaProducerImpl(ProducerConfig config, RdKafkaOptions options)
    : close_timeout_(options.close_timeout),
      config_(effective_config(config)),
      diagnostics_(std::move(options.log_callback), std::move(options.error_callback), config_),
      statistics_(std::move(options.stats_callback), StatisticsRelay::enabled_by(config_)),
      bridge_(reports_, diagnostics_, &statistics_),
      client_(config_, bridge_),
      handover_(refused_, in_flight_),
      route_(make_route(options)) {
    poller_ =
        std::thread([this] { std::visit([this](auto& route) { poll_loop(route); }, route_); });
}

RdKafkaProducerImpl::Route RdKafkaProducerImpl::make_route(const RdKafkaOptions& options) {
    if (options.produce_on == ProduceOn::calling_thread) {
        return Route(std::in_place_type<CallingThreadRoute>, client_, handover_);
    }
    return Route(std::in_place_type<ProducerThreadRoute>,
                 ProducerThreadRoute::Shared{client_, handover_, in_flight_, reports_},
                 client_.limits(), options.handoff_slots);
}

RdKafkaProducerImpl::~RdKafkaProducerImpl() {
    close(close_timeout_);
}

template <typename AnyRoute>
void RdKafkaProducerImpl::poll_loop(AnyRoute& route) noexcept {
    ProducerCallbackScope scope;
    ::pthread_setname_np(::pthread_self(), "kafka_log:prod");  // as top and perf show it
    while (!stop_.load(std::memory_order_acquire)) {
        refused_.report_all(reports_);
        route.serve_once([&]() noexcept { settle_served(route); });
        // A fatal error: a new client (see ClientRecovery); the old ones' purged reports.
        client_.recover(bridge_.take_fatal());
        if (client_.serve_retired()) settle_served(route);
    }
}

template <typename AnyRoute>
void RdKafkaProducerImpl::settle_served(AnyRoute& route) noexcept {
    const DeliveryReports::Served served = reports_.take_served();
    if (served.records == 0) return;
    route.return_credit(served);  // before the count: a waiter woken by it sees the credit
    in_flight_.count_out(served.records);
}

void RdKafkaProducerImpl::close(std::chrono::milliseconds timeout) {
    // In a forked child: no purge (librdkafka's threads are gone), no join (so is the poll
    // thread), and no call_once (the parent may have been inside close at the fork).
    if (forked()) return;
    std::call_once(close_once_,
                   [&] { std::visit([&](auto& route) { close_with(route, timeout); }, route_); });
}

template <typename AnyRoute>
void RdKafkaProducerImpl::close_with(AnyRoute& route, std::chrono::milliseconds timeout) {
    closed_.store(true, std::memory_order_seq_cst);
    client_.stop();  // no new client from now on: the set the loops below see is final
    if (!in_flight_.wait_until_idle(Clock::now() + timeout)) {
        route.purge_from_now();
        client_.for_each_client([](rd_kafka_t* rk) {
            rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        });
        rd_kafka_yield(client_.get());
        // Purged reports arrive on the next poll; the poll thread serves them at once.
        in_flight_.wait_until_idle(Clock::now() + std::chrono::seconds(1));
    }
    stop_.store(true, std::memory_order_release);
    route.stop_retrying();
    rd_kafka_yield(client_.get());
    if (poller_.joinable()) poller_.join();

    // Whatever is left is served here, bounded, so every report precedes our return.
    ProducerCallbackScope scope;
    const auto last = Clock::now() + std::chrono::seconds(1);
    do {
        refused_.report_all(reports_);
        route.report_leftovers_purged();  // a record a late produce() queued after the thread left
        client_.for_each_client([](rd_kafka_t* rk) { rd_kafka_poll(rk, 10); });
        settle_served(route);
    } while (in_flight_.in_flight() != 0 && Clock::now() < last);
}

int RdKafkaProducerTestSeam::raise_fatal_error(RdKafkaProducer& producer, int code,
                                               const char* reason) {
    return rd_kafka_test_fatal_error(producer.impl_->current_client(),
                                     static_cast<rd_kafka_resp_err_t>(code), reason);
}

}  // namespace detail

// --- RdKafkaProducer ----------------------------------------------------------------------

RdKafkaProducer::RdKafkaProducer(ProducerConfig config, RdKafkaOptions options)
    : impl_(std::make_unique<detail::RdKafkaProducerImpl>(std::move(config), std::move(options))) {}

RdKafkaProducer::~RdKafkaProducer() {
    if (impl_ && impl_->forked()) detail::RdKafkaProducerImpl::abandon(std::move(impl_));
}

void RdKafkaProducer::set_delivery_handler(DeliveryHandler handler) {
    impl_->set_delivery_handler(std::move(handler));
}
void RdKafkaProducer::set_cluster_state_handler(ClusterStateHandler handler) {
    impl_->set_cluster_state_handler(std::move(handler));
}
ProduceStatus RdKafkaProducer::produce(const MessageView& message) {
    return impl_->produce(message);
}
bool RdKafkaProducer::flush(std::chrono::milliseconds timeout) {
    return impl_->flush(timeout);
}
void RdKafkaProducer::close(std::chrono::milliseconds timeout) {
    impl_->close(timeout);
}
std::string RdKafkaProducer::redacted_config() const {
    return impl_->redacted_config();
}
std::uint64_t RdKafkaProducer::in_flight() const noexcept {
    return impl_->in_flight();
}
bool RdKafkaProducer::cluster_unreachable() const noexcept {
    return impl_->cluster_unreachable();
}
std::uint64_t RdKafkaProducer::recreations() const noexcept {
    return impl_->forked() ? 0 : impl_->recreations();
}
ClientStats RdKafkaProducer::client_stats() const {
    return impl_->client_stats();
}

}  // namespace kafka_log
