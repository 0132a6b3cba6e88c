// SPDX-License-Identifier: Apache-2.0
#pragma once

// ClientRecovery: the producer's librdkafka client, and a new one when a fatal error (an
// idempotent producer's OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, a fenced epoch...)
// leaves it unusable.
//
// A ClientSession is one client handle and its topic cache. current() is the session records
// go to; recover() (the poll thread's, after CallbackBridge saw the fatal error) makes a new
// session from the same configuration, publishes it, then purges the old one: the records it
// held are reported failed (CallbackBridge gives them the fatal error's code), and a record a
// logging thread still hands to it is refused with the fatal error, so each ends in the
// writer's fallback. A retired session is never destroyed before the producer: a logging
// thread may hold its handles for as long as it likes, and a hand-off ring may still carry its
// topics. Its reports are served by serve_retired() until it holds none.
//
// Bounded by RecreationBackoff: a recreation that fails, or a fatal error that follows the
// last recreation too soon, waits; meanwhile the failed client refuses every record, so
// records go to the fallback, never stall. After RecreationBackoff::most recreations the
// producer stays on its failed client.
//
// Thread safety: current(), get() and recreations() from any thread; recover() and
// serve_retired() from the poll thread (HandoffBatches calls recover() as a ring's consumer,
// which is the poll thread while it runs; after stop() recover() does nothing);
// for_each_client() and stop() from any thread.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "client_handle.hpp"
#include "topic_cache.hpp"

namespace kafka_log::detail {

class CallbackBridge;

/// One librdkafka client and the topics made on it.
class ClientSession {
public:
    /// \throws ConfigError as ClientHandle does.
    ClientSession(const ProducerConfig& config, CallbackBridge& bridge)
        : handle_(config, bridge), topics_(handle_.get()) {}

    rd_kafka_t* client() const noexcept { return handle_.get(); }
    TopicCache& topics() noexcept { return topics_; }
    QueueLimits limits() const noexcept { return handle_.limits(); }

private:
    ClientHandle handle_;
    TopicCache topics_;  // destroyed before the handle
};

/// When a new client may be made: at once after the first fatal error, then after a wait that
/// doubles (from `first` up to `longest`) while fatal errors or failed recreations follow
/// each other within `longest` past the last wait; never after `most` recreations.
class RecreationBackoff {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds first{1000};
    static constexpr std::chrono::milliseconds longest{60000};
    static constexpr std::uint64_t most = 16;

    /// True when a recreation may be tried at `now`.
    bool may_try(Clock::time_point now) const noexcept {
        return made_ < most && (!tried_ || now - last_ >= wait_);
    }
    /// A recreation was tried at `now`; `made`: it succeeded.
    void tried(Clock::time_point now, bool made) noexcept;
    /// Records made so far.
    std::uint64_t made() const noexcept { return made_; }
    /// The wait before the next try.
    std::chrono::milliseconds wait() const noexcept { return wait_; }
    bool exhausted() const noexcept { return made_ >= most; }

private:
    bool tried_ = false;
    Clock::time_point last_{};
    std::chrono::milliseconds wait_{0};
    std::uint64_t made_ = 0;
};

class ClientRecovery {
public:
    /// Makes the first session. `config` and `bridge` outlive this object.
    /// \throws ConfigError as ClientHandle does.
    ClientRecovery(const ProducerConfig& config, CallbackBridge& bridge);

    ClientRecovery(const ClientRecovery&) = delete;
    ClientRecovery& operator=(const ClientRecovery&) = delete;

    /// The session records go to now. Valid as long as this object (sessions are kept).
    ClientSession& current() const noexcept { return *current_.load(std::memory_order_acquire); }
    rd_kafka_t* get() const noexcept { return current().client(); }
    /// The first client's limits (every client has the same configuration).
    QueueLimits limits() const noexcept { return limits_; }

    /// The poll thread's, each turn: `failed` is a client a fatal error was raised on (null:
    /// none new). Makes a new session when the failed client is the current one and the
    /// back-off allows; a refused attempt is tried again on a later turn.
    void recover(rd_kafka_t* failed) noexcept;
    /// The poll thread's: serves the reports of retired clients that still hold records; true
    /// when it served any client.
    bool serve_retired() noexcept;
    /// Calls `f(rd_kafka_t*)` for every client, current and retired.
    template <typename F>
    void for_each_client(F&& f) {
        std::lock_guard lock(mutex_);
        for (const auto& session : sessions_) f(session->client());
    }
    /// No recreation from now on (the producer closes): once it returns, for_each_client()
    /// sees every client there will ever be.
    void stop() noexcept {
        std::lock_guard lock(mutex_);
        stopped_.store(true, std::memory_order_release);
    }

    /// Clients made after a fatal error.
    std::uint64_t recreations() const noexcept {
        return recreations_.load(std::memory_order_relaxed);
    }
    /// The last fatal error a client was replaced for (0: none yet): the code a record refused
    /// by a failed client is reported with (librdkafka says only `_FATAL`).
    int last_fatal_error() const noexcept { return last_fatal_.load(std::memory_order_relaxed); }

private:
    bool recreate(RecreationBackoff::Clock::time_point now) noexcept;

    const ProducerConfig& config_;
    CallbackBridge& bridge_;
    QueueLimits limits_;
    std::mutex mutex_;  // guards sessions_' changes (the poll thread's) against for_each_client
                        // and stop()
    std::vector<std::unique_ptr<ClientSession>> sessions_;  // oldest first; kept until destroyed
    std::atomic<ClientSession*> current_{nullptr};
    std::atomic<bool> stopped_{false};
    std::atomic<std::uint64_t> recreations_{0};
    std::atomic<int> last_fatal_{0};
    // The poll thread's.
    rd_kafka_t* pending_ = nullptr;  // a failed current client not replaced yet
    RecreationBackoff backoff_;
    bool gave_up_said_ = false;
};

}  // namespace kafka_log::detail
