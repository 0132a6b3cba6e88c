// SPDX-License-Identifier: Apache-2.0
#include "client_recovery.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>

#include "callback_bridge.hpp"

namespace kafka_log::detail {

void RecreationBackoff::tried(Clock::time_point now, bool made) noexcept {
    // A try soon after the last one's wait doubles the wait; a quiet spell (`longest` past
    // that wait) starts it again.
    if (!tried_ || now - last_ >= wait_ + longest) {
        wait_ = first;
    } else {
        wait_ = std::min<std::chrono::milliseconds>(wait_ * 2, longest);
    }
    tried_ = true;
    last_ = now;
    if (made) ++made_;
}

ClientRecovery::ClientRecovery(const ProducerConfig& config, CallbackBridge& bridge)
    : config_(config), bridge_(bridge) {
    sessions_.push_back(std::make_unique<ClientSession>(config_, bridge_));
    limits_ = sessions_.back()->limits();
    current_.store(sessions_.back().get(), std::memory_order_release);
}

void ClientRecovery::recover(rd_kafka_t* failed) noexcept {
    if (failed != nullptr && failed == get()) pending_ = failed;
    if (pending_ == nullptr) return;
    if (pending_ != get() || stopped_.load(std::memory_order_acquire)) {
        pending_ = nullptr;
        return;
    }
    if (backoff_.exhausted()) {
        if (!gave_up_said_) {
            gave_up_said_ = true;
            std::fprintf(stderr,
                         "kafka_log: the producer hit a fatal error again after %llu new "
                         "clients; it makes no more: records go to the fallback\n",
                         static_cast<unsigned long long>(backoff_.made()));
        }
        pending_ = nullptr;
        return;
    }
    const auto now = RecreationBackoff::Clock::now();
    if (!backoff_.may_try(now)) return;  // a later turn tries; the failed client refuses records
    if (recreate(now)) pending_ = nullptr;
}

bool ClientRecovery::recreate(RecreationBackoff::Clock::time_point now) noexcept {
    rd_kafka_t* const old = get();
    char reason[512] = "";
    const rd_kafka_resp_err_t code = rd_kafka_fatal_error(old, reason, sizeof reason);
    last_fatal_.store(code, std::memory_order_relaxed);
    try {
        auto fresh = std::make_unique<ClientSession>(config_, bridge_);
        ClientSession* const made = fresh.get();
        {
            // Published under the lock stop() takes: a close that stopped recovery first never
            // sees a client it did not purge (the fresh one is destroyed unused), and one that
            // stops it later finds this client in for_each_client().
            std::lock_guard lock(mutex_);
            if (stopped_.load(std::memory_order_acquire)) return false;
            sessions_.push_back(std::move(fresh));
            current_.store(made, std::memory_order_release);
        }
    } catch (const std::exception& e) {
        backoff_.tried(now, false);
        std::fprintf(stderr,
                     "kafka_log: the producer hit fatal error %s (%s) and cannot make a new "
                     "client: %s; records go to the fallback, next try in %lld ms\n",
                     rd_kafka_err2name(code), reason, e.what(),
                     static_cast<long long>(backoff_.wait().count()));
        return false;
    } catch (...) {
        backoff_.tried(now, false);
        return false;
    }
    backoff_.tried(now, true);
    const std::uint64_t n = recreations_.fetch_add(1, std::memory_order_relaxed) + 1;
    // Its records are reported failed on the next serve_retired(); a record still handed to it
    // is refused with the fatal error.
    rd_kafka_purge(old, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    std::fprintf(stderr,
                 "kafka_log: the producer hit fatal error %s (%s); made a new client (%llu so "
                 "far); the records the old one held go to the fallback\n",
                 rd_kafka_err2name(code), reason, static_cast<unsigned long long>(n));
    return true;
}

bool ClientRecovery::serve_retired() noexcept {
    // sessions_ changes only on this thread: read without the lock.
    const std::size_t count = sessions_.size();
    if (count == 1) return false;
    ClientSession* const now = &current();
    bool served = false;
    for (std::size_t i = 0; i < count; ++i) {
        rd_kafka_t* const client = sessions_[i]->client();
        if (sessions_[i].get() != now && rd_kafka_outq_len(client) > 0) {
            rd_kafka_poll(client, 0);
            served = true;
        }
    }
    return served;
}

}  // namespace kafka_log::detail
