// SPDX-License-Identifier: Apache-2.0
#pragma once

// The soak's faults (soak_test.cpp): what one life of a child meets, chosen at random from a
// seed, and the thread that inflicts it on the EmbeddedCluster while the child logs.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kafka_log/testing/embedded_cluster.hpp"

namespace kafka_log::test {

/// Settings every life shares (the child's producer and the last writer's).
struct SoakLimits {
    static constexpr int brokers = 3;
    static constexpr int partitions = 32;  // room for the volume (the mock keeps ~5 MiB each)
    static constexpr long message_timeout_ms = 1000;      // the child's: a slow broker exceeds it
    static constexpr long message_max_bytes = 65536;      // the child's and the last writer's
    static constexpr std::size_t big_bytes = 80000;       // a record too large: over the limit
    static constexpr std::uint64_t max_records = 100000;  // a life ends at this many at most
};

/// What the cluster does during a life.
enum class ClusterFault { none, down, down_up, flapping };

/// The faults of one life of a child; several at once.
struct LifePlan {
    ClusterFault cluster = ClusterFault::none;
    bool slow = false;                  // one broker answers later than message.timeout.ms, a while
    bool leaders = false;               // partition leaders move among the brokers
    bool retriable = false;             // bursts of retriable produce errors
    bool non_retriable = false;         // now and then a non-retriable produce error
    bool small_queue = false;           // the producer's queue holds 20–300 records: queue full
    bool big = false;                   // a record too large for message.max.bytes now and then
    bool close = false;                 // ends with a clean close (records in flight), not SIGKILL
    std::chrono::milliseconds life{0};  // logging time before the end
    std::chrono::milliseconds close_timeout{0};  // the close's flush time, then a purge
    std::uint64_t rate = 0;                      // records/s of the child; 0: flat out
    long queue_messages = 0;
    std::uint64_t big_every = 0;  // 0: none
    std::uint64_t fault_seed = 0;
};

/// The names the summary counts faults by, in its order.
inline const std::vector<std::string>& fault_names() {
    static const std::vector<std::string> names{
        "down",          "down-up",    "flapping",  "slow", "leaders", "retriable",
        "non-retriable", "queue-full", "too-large", "kill", "close"};
    return names;
}

/// The names of the faults `plan` has (as `fault_names`).
inline std::vector<std::string> faults_of(const LifePlan& plan) {
    std::vector<std::string> out;
    if (plan.cluster == ClusterFault::down) out.emplace_back("down");
    if (plan.cluster == ClusterFault::down_up) out.emplace_back("down-up");
    if (plan.cluster == ClusterFault::flapping) out.emplace_back("flapping");
    if (plan.slow) out.emplace_back("slow");
    if (plan.leaders) out.emplace_back("leaders");
    if (plan.retriable) out.emplace_back("retriable");
    if (plan.non_retriable) out.emplace_back("non-retriable");
    if (plan.small_queue) out.emplace_back("queue-full");
    if (plan.big) out.emplace_back("too-large");
    out.emplace_back(plan.close ? "close" : "kill");
    return out;
}

/// Chooses a life's faults: each independently, the cluster's one of four, the end a kill
/// (seven in ten) or a clean close; the logging time log-uniform in 0.1–6 s.
inline LifePlan choose_plan(std::mt19937_64& rng, std::uint64_t rate) {
    auto chance = [&rng](double p) { return std::bernoulli_distribution(p)(rng); };
    auto between = [&rng](std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    LifePlan plan;
    plan.cluster = static_cast<ClusterFault>(between(0, 3));
    plan.slow = chance(0.35);
    plan.leaders = chance(0.4);
    plan.retriable = chance(0.4);
    plan.non_retriable = chance(0.35);
    plan.small_queue = chance(0.3);
    plan.big = chance(0.4);
    plan.close = chance(0.3);
    const double ms =
        std::exp(std::uniform_real_distribution<double>(std::log(100.0), std::log(6000.0))(rng));
    plan.life = std::chrono::milliseconds(static_cast<std::int64_t>(ms));
    static constexpr std::int64_t close_timeouts[] = {0, 50, 200, 1000, 3000};
    plan.close_timeout = std::chrono::milliseconds(close_timeouts[between(0, 4)]);
    plan.rate = chance(0.25) ? 0 : rate;
    plan.queue_messages = plan.small_queue ? static_cast<long>(between(20, 300)) : 0;
    plan.big_every = plan.big ? static_cast<std::uint64_t>(between(200, 3000)) : 0;
    plan.fault_seed = rng();
    return plan;
}

/// Gives `plan` exactly the faults named in `list` (comma-separated, names as `fault_names`):
/// the rest off; the end kill or close as named (as chosen when neither is); a queue size and
/// a big record's period drawn from `rng` when the plan had none.
inline void force_faults(LifePlan& plan, const std::string& list, std::mt19937_64& rng) {
    auto named = [&list](const char* name) {
        const std::string l = "," + list + ",";
        return l.find("," + std::string(name) + ",") != std::string::npos;
    };
    auto between = [&rng](std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    plan.cluster = named("down")       ? ClusterFault::down
                   : named("down-up")  ? ClusterFault::down_up
                   : named("flapping") ? ClusterFault::flapping
                                       : ClusterFault::none;
    plan.slow = named("slow");
    plan.leaders = named("leaders");
    plan.retriable = named("retriable");
    plan.non_retriable = named("non-retriable");
    plan.small_queue = named("queue-full");
    if (!plan.small_queue) plan.queue_messages = 0;
    if (plan.small_queue && plan.queue_messages == 0)
        plan.queue_messages = static_cast<long>(between(20, 300));
    plan.big = named("too-large");
    if (!plan.big) plan.big_every = 0;
    if (plan.big && plan.big_every == 0)
        plan.big_every = static_cast<std::uint64_t>(between(200, 3000));
    if (named("kill") != named("close")) plan.close = named("close");
}

/// Inflicts a plan's cluster faults from its own thread, from construction until `stop`, which
/// leaves every broker up and answering at once (produce errors pushed and not yet met stay
/// queued in the mock: the next producer meets them). The waits are the faults' own timing.
class FaultRunner {
public:
    FaultRunner(EmbeddedCluster& cluster, std::string topic, const LifePlan& plan)
        : cluster_(cluster), topic_(std::move(topic)), plan_(plan) {
        thread_ = std::thread([this] { run(); });
    }
    ~FaultRunner() { stop(); }
    FaultRunner(const FaultRunner&) = delete;
    FaultRunner& operator=(const FaultRunner&) = delete;

    /// Stops the faults and restores the cluster. \return an error the cluster reported (a
    /// failed mock call), or empty.
    std::string stop() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
        return error_;
    }

    int toggles() const { return toggles_; }
    int leader_moves() const { return leader_moves_; }
    int errors_pushed() const { return errors_pushed_; }

private:
    using clock = std::chrono::steady_clock;

public:
    /// Takes every broker down (before a child starts: ClusterFault::down and down_up).
    static void all_brokers_down(EmbeddedCluster& cluster) {
        for (int id = 1; id <= SoakLimits::brokers; ++id) cluster.set_broker_down(id);
    }

private:
    void all_brokers(bool up) {
        for (int id = 1; id <= SoakLimits::brokers; ++id) {
            if (up) {
                cluster_.set_broker_up(id);
            } else {
                cluster_.set_broker_down(id);
            }
        }
    }

    void run() {
        try {
            inflict();
        } catch (const std::exception& e) {
            error_ = e.what();
        }
        try {
            for (int id = 1; id <= SoakLimits::brokers; ++id) cluster_.set_broker_rtt(id, 0);
            all_brokers(true);
        } catch (const std::exception& e) {
            if (error_.empty()) error_ = e.what();
        }
    }

    void inflict() {
        std::mt19937_64 rng(plan_.fault_seed);
        auto ms = [&rng](std::int64_t lo, std::int64_t hi) {
            return std::chrono::milliseconds(
                std::uniform_int_distribution<std::int64_t>(lo, hi)(rng));
        };
        auto pick = [&rng](std::initializer_list<int> codes) {
            const auto i = std::uniform_int_distribution<std::size_t>(0, codes.size() - 1)(rng);
            return *(codes.begin() + static_cast<std::ptrdiff_t>(i));
        };
        const auto start = clock::now();
        const auto life = plan_.life;
        const auto never = clock::time_point::max();
        // Down from the start: the caller took every broker down before the child started.
        bool down = plan_.cluster == ClusterFault::down || plan_.cluster == ClusterFault::down_up;
        auto up_at =
            plan_.cluster == ClusterFault::down_up ? start + life * 3 / 10 + ms(0, 1500) : never;
        auto flap_at = plan_.cluster == ClusterFault::flapping ? start : never;
        const int slow_broker = std::uniform_int_distribution<int>(1, SoakLimits::brokers)(rng);
        const auto slow_rtt = ms(SoakLimits::message_timeout_ms + 500, 2500);
        auto slow_at = plan_.slow ? start + life / 4 : never;
        auto fast_at = never;
        auto leader_at = plan_.leaders ? start + ms(0, 200) : never;
        auto retriable_at = plan_.retriable ? start + ms(50, 400) : never;
        auto refuse_at = plan_.non_retriable ? start + ms(100, 800) : never;

        std::unique_lock lock(mutex_);
        while (!stop_) {
            const auto now = clock::now();
            if (now >= up_at) {
                all_brokers(true);
                down = false;
                up_at = never;
            }
            if (now >= flap_at) {
                // One broker (as the kill chaos test): toggling several while clients are
                // connected made librdkafka 2.0.2's mock abort (it could not listen on a
                // broker's port again: EADDRINUSE).
                down = !down;
                if (down) {
                    cluster_.set_broker_down(1);
                } else {
                    cluster_.set_broker_up(1);
                }
                ++toggles_;
                flap_at = now + ms(150, 250);
            }
            if (now >= slow_at) {
                cluster_.set_broker_rtt(slow_broker, static_cast<int>(slow_rtt.count()));
                slow_at = never;
                fast_at = now + ms(1500, 4000);
            }
            if (now >= fast_at) {
                cluster_.set_broker_rtt(slow_broker, 0);
                fast_at = never;
            }
            if (now >= leader_at) {
                const int partition =
                    std::uniform_int_distribution<int>(0, SoakLimits::partitions - 1)(rng);
                const int broker = std::uniform_int_distribution<int>(1, SoakLimits::brokers)(rng);
                cluster_.set_partition_leader(topic_, partition, broker);
                ++leader_moves_;
                leader_at = now + ms(100, 400);
            }
            // Produce errors only while the brokers are up: a request meets each one, and none
            // are sent while they are down (errors pushed then would pile up for the next).
            if (now >= retriable_at) {
                // NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS: retried.
                const auto count = static_cast<std::size_t>(ms(1, 3).count());
                const int code = pick({6, 7, 19});
                if (!down) cluster_.push_produce_errors(count, code);
                if (!down) errors_pushed_ += static_cast<int>(count);
                retriable_at = now + ms(200, 600);
            }
            if (now >= refuse_at) {
                // TOPIC_AUTHORIZATION_FAILED, MESSAGE_TOO_LARGE: the batch fails, not retried.
                const int code = pick({29, 10});
                if (!down) cluster_.push_produce_errors(1, code);
                if (!down) ++errors_pushed_;
                refuse_at = now + ms(300, 1200);
            }
            const auto next =
                std::min({up_at, flap_at, slow_at, fast_at, leader_at, retriable_at, refuse_at});
            if (next == never) {
                wake_.wait(lock, [this] { return stop_; });
            } else {
                wake_.wait_until(lock, next, [this] { return stop_; });
            }
        }
    }

    EmbeddedCluster& cluster_;
    const std::string topic_;
    const LifePlan plan_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    int toggles_ = 0;
    int leader_moves_ = 0;
    int errors_pushed_ = 0;
    std::string error_;
    std::thread thread_;
};

}  // namespace kafka_log::test
