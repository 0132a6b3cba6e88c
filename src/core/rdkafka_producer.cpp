// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/rdkafka_producer.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../detail/callback_scope.hpp"
#include "../detail/fork_generation.hpp"
#include "../detail/handoff_ring.hpp"
#include "../detail/rdkafka_handles.hpp"
#include "../detail/secret_scrub.hpp"
#include "../detail/thread_number.hpp"

namespace kafka_log {
namespace detail {

namespace {

using Clock = std::chrono::steady_clock;

/// Properties set unless the user's config sets them; see rdkafka_producer.hpp for why.
const ProducerConfig& log_defaults() {
    static const ProducerConfig defaults{
        {"client.id", "kafka_log"},
        {"enable.idempotence", "true"},
        {"queue.buffering.max.messages", "100000"},
        {"queue.buffering.max.kbytes", "65536"},
        {"message.timeout.ms", "30000"},
        {"reconnect.backoff.max.ms", "500"},
    };
    return defaults;
}

/// At most `per_second` lines a second to stderr; the rest are counted and summarized.
class StderrLimiter {
public:
    void print(std::string_view text) {
        std::string line;
        {
            std::lock_guard lock(mutex_);
            const auto now = Clock::now();
            if (now - window_start_ >= std::chrono::seconds(1)) {
                if (suppressed_ > 0) {
                    line = "kafka_log: " + std::to_string(suppressed_) + " librdkafka message(s) suppressed\n";
                }
                window_start_ = now;
                printed_ = 0;
                suppressed_ = 0;
            }
            if (printed_ >= per_second) {
                ++suppressed_;
                return;
            }
            ++printed_;
        }
        line.append(text);
        line.push_back('\n');
        [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    }

private:
    static constexpr int per_second = 10;
    std::mutex mutex_;
    Clock::time_point window_start_{};
    int printed_ = 0;
    std::uint64_t suppressed_ = 0;
};

/// The most a record adds to its key and value on the wire (record format v2: varint length,
/// attributes, timestamp delta, offset delta, key length, value length, header count), which
/// librdkafka counts against `message.max.bytes`.
constexpr std::size_t record_overhead = 5 + 1 + 10 + 5 + 5 + 5 + 5;

/// A record librdkafka refused synchronously for a reason the caller cannot act on; it is
/// reported as a delivery failure from the poll thread.
struct RefusedRecord {
    std::string topic;
    std::string key;
    std::string payload;
    std::vector<std::pair<std::string, std::string>> headers;
    std::int64_t timestamp_ms = 0;
    DeliveryError error;
    std::uint64_t token = 0;
};

/// A record that a ring slot can carry: a ring copies topic, key and payload only, so a record
/// with headers or a timestamp of its own is handed to librdkafka by the calling thread.
bool fits_ring(const MessageView& message) noexcept {
    return message.headers.empty() && message.timestamp_ms == 0;
}

/// What produce() was given that a report must hand back travels as the message's opaque:
/// the timestamp (librdkafka reports none for a failed record: rd_kafka_message_timestamp is
/// -1 then) and the caller's token. Records with neither (most ring records) have a null
/// opaque. Encoded in the pointer's bits, so a record costs no allocation:
///   - bit 63 clear, bit 62 clear: a timestamp in (0, 2^62);
///   - bit 62 set: a token (below 2^62), no timestamp;
///   - bit 63 set: a heap OpaqueBoth (both, or a timestamp out of that range), freed by the
///     report, or at once when librdkafka refuses the record.
struct OpaqueBoth {
    std::int64_t timestamp_ms;
    std::uint64_t token;
};

constexpr std::uint64_t opaque_token_bit = std::uint64_t{1} << 62;
constexpr std::uint64_t opaque_heap_bit = std::uint64_t{1} << 63;
static_assert(sizeof(void*) == sizeof(std::uint64_t), "the opaque encoding needs 64-bit pointers");

struct OpaqueFields {
    std::int64_t timestamp_ms = 0;
    std::uint64_t token = 0;
};

void* make_opaque(std::int64_t timestamp_ms, std::uint64_t token) noexcept {
    token &= opaque_token_bit - 1;
    if (token == 0 && timestamp_ms >= 0 && static_cast<std::uint64_t>(timestamp_ms) < opaque_token_bit) {
        return reinterpret_cast<void*>(static_cast<std::uintptr_t>(timestamp_ms));
    }
    if (timestamp_ms == 0) return reinterpret_cast<void*>(static_cast<std::uintptr_t>(opaque_token_bit | token));
    auto* both = new (std::nothrow) OpaqueBoth{timestamp_ms, token};
    if (both == nullptr) return reinterpret_cast<void*>(static_cast<std::uintptr_t>(opaque_token_bit | token));
    return reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(both) | opaque_heap_bit);
}

/// Reads an opaque and frees what it owned: once per record.
OpaqueFields take_opaque(void* opaque) noexcept {
    const auto bits = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(opaque));
    if ((bits & opaque_heap_bit) != 0) {
        std::unique_ptr<OpaqueBoth> both(reinterpret_cast<OpaqueBoth*>(static_cast<std::uintptr_t>(bits & ~opaque_heap_bit)));
        return OpaqueFields{both->timestamp_ms, both->token};
    }
    if ((bits & opaque_token_bit) != 0) return OpaqueFields{0, bits & (opaque_token_bit - 1)};
    return OpaqueFields{static_cast<std::int64_t>(bits), 0};
}

/// The sequence of thread numbers that picks a logging thread's lane; only threads that
/// produce take one.
struct LaneSequence {};

}  // namespace

class RdKafkaProducerImpl {
public:
    RdKafkaProducerImpl(ProducerConfig config, RdKafkaOptions options);
    ~RdKafkaProducerImpl();

    /// True in a process forked after this producer was made: the poll thread and librdkafka's
    /// threads do not exist here, and any lock may have been held by one of them at the fork.
    bool forked() const noexcept { return in_forked_child(generation_); }
    /// Used instead of destruction in a forked child: the destructor would join a poll thread
    /// that does not exist here (or std::thread's destructor would terminate), call
    /// rd_kafka_destroy (which waits for librdkafka's threads) and destroy topic handles under
    /// librdkafka locks a vanished thread may hold. The producer is kept whole, on a list
    /// reachable from a global (LeakSanitizer does not report it), until the child exits.
    static void abandon(std::unique_ptr<RdKafkaProducerImpl> impl) noexcept;

    void set_delivery_handler(DeliveryHandler handler) {
        if (forked()) return;  // no report will ever be served here
        std::lock_guard lock(handler_mutex_);
        delivery_handler_ = std::move(handler);
    }
    void set_cluster_state_handler(ClusterStateHandler handler) {
        if (forked()) return;
        std::lock_guard lock(handler_mutex_);
        state_handler_ = std::move(handler);
        // librdkafka says "all brokers down" once per transition: a handler installed after
        // it (the cluster was down at start-up) must still learn it.
        if (state_handler_ && unreachable_reported_.load(std::memory_order_acquire)) {
            try {
                state_handler_(ClusterState::unreachable);
            } catch (...) {
            }
        }
    }
    ProduceStatus produce(const MessageView& message);
    bool flush(std::chrono::milliseconds timeout);
    void close(std::chrono::milliseconds timeout);
    std::string redacted_config() const { return config_.redacted(); }
    std::uint64_t in_flight() const noexcept {
        if (forked()) return 0;  // the child accepts nothing; the parent's records are the parent's
        // Settled first: every settled record was accepted before, so the difference never wraps.
        const std::uint64_t settled = settled_.load(std::memory_order_seq_cst);
        std::uint64_t accepted = 0;
        for (const Lane& lane : lanes_) accepted += lane.accepted.load(std::memory_order_seq_cst);
        return accepted - settled;
    }
    bool cluster_unreachable() const noexcept { return unreachable_reported_.load(std::memory_order_acquire); }
    const RdKafkaOptions& options() const noexcept { return options_; }

private:
    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque);
    static void on_error(rd_kafka_t*, int code, const char* reason, void* opaque);
    static void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* line);

    void deliver(const MessageView& view, std::optional<DeliveryError> error) noexcept;
    void cluster_state(ClusterState state) noexcept;
    void report_error(int code, std::string_view reason) noexcept;
    void report_log(int level, std::string_view facility, std::string_view line) noexcept;
    void serve_refused() noexcept;
    void poll_loop() noexcept;
    rd_kafka_topic_t* topic_handle(std::string_view name);
    bool wait_idle_until(Clock::time_point deadline);
    void settle(std::size_t bytes) noexcept;
    void publish_settled() noexcept;
    void notify_if_idle() noexcept;
    rd_kafka_resp_err_t producev(rd_kafka_topic_t* topic, std::string_view payload, std::string_view key,
                                 std::uint64_t token) noexcept;
    /// As producev(), with the record's headers and timestamp (records that bypass the rings).
    rd_kafka_resp_err_t producev_with_metadata(rd_kafka_topic_t* topic, const MessageView& message) noexcept;
    ProduceStatus settle(rd_kafka_resp_err_t err, const MessageView& message);

    /// What a ring slot carries besides key and payload.
    struct RingTag {
        rd_kafka_topic_t* topic = nullptr;
        std::uint64_t token = 0;  // MessageView::token
    };
    using Ring = HandoffRing<RingTag>;
    /// The logging threads of a lane (by thread number) write its counters and its ring;
    /// another lane's threads never touch them, so two threads that log at once do not pass
    /// a cache line back and forth. The producer thread reads them.
    struct alignas(64) Lane {
        std::atomic<std::uint64_t> accepted{0};  // in flight = the lanes' accepted - settled_
        std::atomic<std::uint64_t> credit{0};    // queue-bound credit held: records << 40 | bytes
        std::atomic<Ring*> ring{nullptr};        // made by the lane's first record; ours to delete
    };
    static constexpr std::size_t lane_count = 8;
    static constexpr unsigned credit_shift = 40;
    static constexpr std::uint64_t credit_bytes_mask = (std::uint64_t{1} << credit_shift) - 1;

    Lane& my_lane() noexcept { return lanes_[thread_number<LaneSequence>() % lane_count]; }
    Ring* lane_ring(Lane& lane) noexcept;
    bool take_credit(Lane& lane, std::uint64_t bytes) noexcept;
    bool refill(Lane& lane, std::uint64_t held, std::uint64_t bytes) noexcept;
    /// A record produce() counted in and did not keep: settled at once, its credit returned.
    void refuse(Lane* credited, std::uint64_t bytes) noexcept;
    /// Hands the rings' records to librdkafka, a batch per lane in turn, until none is left.
    /// A ring a logging thread is emptying (help_drain) is passed over, unless `wait`.
    std::size_t drain_rings(bool purge, bool wait = false) noexcept;
    std::size_t drain_batch(Ring& ring, bool purge, bool wait) noexcept;
    bool passed_busy_ring_ = false;  // the last drain_rings() passed over a ring
    /// The batch drain_batch() and help_drain() hand to librdkafka: the ring's oldest records
    /// of one topic, up to batch_max; `skipped` counts records popped without producing.
    static constexpr std::size_t batch_max = 256;
    using Batch = std::array<rd_kafka_message_t, batch_max>;
    static std::size_t collect_batch(Ring& ring, Batch& batch, rd_kafka_topic_t*& topic, std::size_t& skipped) noexcept;
    bool help_drain(Ring& ring) noexcept;
    void published() noexcept;
    bool rings_empty() const noexcept;

    const std::uint64_t generation_ = fork_generation();  // the process this producer was made in
    ProducerConfig config_;  // effective: defaults + user's
    RdKafkaOptions options_;
    HandlePtr rk_;

    std::mutex handler_mutex_;
    DeliveryHandler delivery_handler_;
    ClusterStateHandler state_handler_;
    std::atomic<bool> unreachable_reported_{false};

    struct TopicEntry {
        std::string name;
        rd_kafka_topic_t* handle;
    };
    std::shared_mutex topics_mutex_;
    std::map<std::string, TopicPtr, std::less<>> topics_;
    std::vector<std::unique_ptr<TopicEntry>> topic_entries_;  // guarded by topics_mutex_
    std::atomic<const TopicEntry*> last_topic_{nullptr};

    // ProduceOn::producer_thread: records go through the lanes' rings, and the limits below
    // are checked on the calling thread, as librdkafka would.
    bool ring_mode_ = false;
    std::atomic<bool> closed_{false};  // read by every produce(): kept off the lines written often
    std::uint64_t max_record_bytes_ = 1000000;
    // The queue bound (queue.buffering.max.messages / .kbytes) as credit: the pool holds what
    // no lane holds; a lane takes a chunk when its own runs out, and the producer thread
    // returns a settled batch's to the pool. A logging thread thus touches the shared pool
    // once a chunk, not once a record. Near the bound, lanes take one record's worth at a
    // time, and a lane that finds the pool short brings back the other lanes' idle credit
    // before it refuses: a record is refused only when the queue is full.
    std::uint64_t chunk_records_ = 1;
    std::uint64_t chunk_bytes_ = 1;
    alignas(64) std::atomic<std::uint64_t> pool_records_{0};
    std::atomic<std::uint64_t> pool_bytes_{0};

    // In flight = the lanes' accepted - settled_. produce() counts itself in before it checks
    // closed_, so close() waiting for zero cannot miss a late record. The thread serving
    // reports publishes settled_ a batch at a time, and reads the lanes only while someone
    // waits for idle (waiters_).
    std::array<Lane, lane_count> lanes_;
    alignas(64) std::atomic<std::uint64_t> settled_{0};
    std::atomic<unsigned> waiters_{0};
    // Reports served and not yet published: the serving thread's own (the producer thread,
    // and close() once that thread is joined).
    std::uint64_t unpublished_ = 0;
    std::uint64_t unpublished_bytes_ = 0;

    std::size_t ring_slots_ = 2;
    alignas(64) std::atomic<bool> sleeping_{false};  // the producer thread waits in rd_kafka_poll
    std::atomic<bool> purging_{false};               // close() gave up: ring records are purged
    std::mutex idle_mutex_;
    std::condition_variable idle_cv_;

    std::mutex refused_mutex_;
    std::deque<RefusedRecord> refused_;

    std::atomic<bool> stop_{false};
    std::once_flag close_once_;
    std::thread poller_;
    StderrLimiter stderr_;
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
    : options_(std::move(options)) {
    config_ = log_defaults();
    config_.merge(config);
    if (!config_.contains("bootstrap.servers") && !config_.contains("test.mock.num.brokers")) {
        throw ConfigError("kafka_log::RdKafkaProducer: 'bootstrap.servers' is not set", "bootstrap.servers");
    }

    ConfPtr conf(rd_kafka_conf_new());
    char errstr[512];
    for (const auto& [key, value] : config_.properties()) {
        if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            const bool secret = ProducerConfig::is_secret(key);  // not on the allow-list
            const std::string reason = scrub_reason(errstr, key, value);
            throw ConfigError("kafka_log::RdKafkaProducer: property '" + key + "' = '" +
                                  (secret ? std::string("***") : value) + "' rejected: " + reason,
                              key);
        }
    }
    // Every callback is served by our poll thread: logs too (log.queue + set_log_queue).
    if (rd_kafka_conf_set(conf.get(), "log.queue", "true", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        throw ConfigError(std::string("kafka_log::RdKafkaProducer: log.queue: ") + errstr, "log.queue");
    }
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &RdKafkaProducerImpl::on_delivery);
    rd_kafka_conf_set_error_cb(conf.get(), &RdKafkaProducerImpl::on_error);
    rd_kafka_conf_set_log_cb(conf.get(), &RdKafkaProducerImpl::on_log);

    rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr));
    if (!rk_) {
        throw ConfigError("kafka_log::RdKafkaProducer: cannot create producer: " + scrub_config(errstr, config_));
    }
    conf.release();  // owned by rk_ now
    rd_kafka_set_log_queue(rk_.get(), nullptr);  // forward logs to the main queue

    if (options_.produce_on == ProduceOn::producer_thread) {
        // The values librdkafka itself uses, defaults included.
        const rd_kafka_conf_t* effective = rd_kafka_conf(rk_.get());
        const auto number = [&](const char* key, std::uint64_t fallback) -> std::uint64_t {
            char value[64];
            std::size_t size = sizeof value;
            if (rd_kafka_conf_get(effective, key, value, &size) != RD_KAFKA_CONF_OK) return fallback;
            try {
                return static_cast<std::uint64_t>(std::stoull(value));
            } catch (...) {
                return fallback;
            }
        };
        const std::uint64_t max_messages = number("queue.buffering.max.messages", 100000);
        const std::uint64_t max_bytes = number("queue.buffering.max.kbytes", 1048576) * 1024;
        max_record_bytes_ = number("message.max.bytes", 1000000);
        pool_records_.store(max_messages);
        pool_bytes_.store(max_bytes);
        constexpr std::uint64_t chunks = lane_count * 32;  // all lanes' chunks: 1/32 of the bound
        chunk_records_ = std::clamp<std::uint64_t>(max_messages / chunks, 1, 4096);
        chunk_bytes_ = std::clamp<std::uint64_t>(max_bytes / chunks, 1, std::uint64_t{16} << 20);
        ring_slots_ = std::max<std::size_t>(options_.handoff_slots, 2);
        ring_mode_ = true;
    }
    poller_ = std::thread([this] { poll_loop(); });
}

RdKafkaProducerImpl::~RdKafkaProducerImpl() {
    close(options_.close_timeout);
    for (Lane& lane : lanes_) delete lane.ring.load(std::memory_order_acquire);
    topics_.clear();  // topic handles go before the client handle
}

// --- callbacks (poll thread) ------------------------------------------------------------

void RdKafkaProducerImpl::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* self_opaque) {
    auto* self = static_cast<RdKafkaProducerImpl*>(self_opaque);
    const OpaqueFields opaque = take_opaque(m->_private);  // first: it may own memory
    try {
        MessageView view{
            m->rkt ? std::string_view(rd_kafka_topic_name(m->rkt)) : std::string_view(),
            m->key ? std::string_view(static_cast<const char*>(m->key), m->key_len) : std::string_view(),
            m->payload ? std::string_view(static_cast<const char*>(m->payload), m->len) : std::string_view()};
        // Headers: views of librdkafka's copy, valid during the handler. A few fit on the
        // stack; a record without headers costs no allocation.
        std::array<RecordHeader, 8> few;
        std::vector<RecordHeader> many;
        rd_kafka_headers_t* headers = nullptr;
        if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers != nullptr) {
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
                if (rd_kafka_header_get_all(headers, i, &name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) break;
                out[n++] = RecordHeader{name ? std::string_view(name) : std::string_view(),
                                        value ? std::string_view(static_cast<const char*>(value), size)
                                              : std::string_view()};
            }
            view.headers = std::span<const RecordHeader>(out, n);
        }
        // The timestamp produce() was given, if any; else the one librdkafka knows: its own
        // clock's, or the broker's for a LogAppendTime topic. None for a failed record.
        const std::int64_t given = opaque.timestamp_ms;
        const std::int64_t known = rd_kafka_message_timestamp(m, nullptr);
        view.timestamp_ms = given != 0 ? given : std::max<std::int64_t>(known, 0);
        view.token = opaque.token;
        std::optional<DeliveryError> error;
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            error = DeliveryError{m->err, rd_kafka_err2str(m->err),
                                  rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED};
        } else if (self->unreachable_reported_.load(std::memory_order_relaxed) &&
                   self->unreachable_reported_.exchange(false, std::memory_order_acq_rel)) {
            self->cluster_state(ClusterState::reachable);
        }
        self->deliver(view, std::move(error));
    } catch (...) {
        // Building the reason string failed to allocate; nothing sensible is left to do.
    }
}

void RdKafkaProducerImpl::on_error(rd_kafka_t*, int code, const char* reason, void* opaque) {
    auto* self = static_cast<RdKafkaProducerImpl*>(opaque);
    if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        self->unreachable_reported_.store(true, std::memory_order_release);
        self->cluster_state(ClusterState::unreachable);
    }
    self->report_error(code, reason ? reason : "");
}

void RdKafkaProducerImpl::on_log(const rd_kafka_t* rk, int level, const char* facility, const char* line) {
    auto* self = static_cast<RdKafkaProducerImpl*>(rd_kafka_opaque(rk));
    if (self) self->report_log(level, facility ? facility : "", line ? line : "");
}

void RdKafkaProducerImpl::deliver(const MessageView& view, std::optional<DeliveryError> error) noexcept {
    {
        std::lock_guard lock(handler_mutex_);
        if (delivery_handler_) {
            try {
                delivery_handler_(DeliveryReport{view, std::move(error)});
            } catch (...) {
                // A handler must not throw; the report is still counted as served.
            }
        }
    }
    settle(view.payload.size());
}

void RdKafkaProducerImpl::settle(std::size_t bytes) noexcept {
    ++unpublished_;
    unpublished_bytes_ += bytes;
}

void RdKafkaProducerImpl::publish_settled() noexcept {
    if (unpublished_ == 0) return;
    if (ring_mode_) {
        // Every record that reaches a report took credit in produce().
        pool_bytes_.fetch_add(unpublished_bytes_, std::memory_order_relaxed);
        pool_records_.fetch_add(unpublished_, std::memory_order_relaxed);
    }
    settled_.fetch_add(unpublished_, std::memory_order_seq_cst);
    unpublished_ = 0;
    unpublished_bytes_ = 0;
    notify_if_idle();
}

void RdKafkaProducerImpl::refuse(Lane* credited, std::uint64_t bytes) noexcept {
    if (credited != nullptr) {
        credited->credit.fetch_add((std::uint64_t{1} << credit_shift) | bytes, std::memory_order_relaxed);
    }
    settled_.fetch_add(1, std::memory_order_seq_cst);
    notify_if_idle();
}

void RdKafkaProducerImpl::notify_if_idle() noexcept {
    // Pairs with wait_idle_until(): it counts itself in (seq_cst) before it reads in_flight(),
    // and we publish (seq_cst) before we read waiters_, so one of the two sees the other.
    if (waiters_.load(std::memory_order_seq_cst) == 0 || in_flight() != 0) return;
    std::lock_guard lock(idle_mutex_);
    idle_cv_.notify_all();
}

void RdKafkaProducerImpl::cluster_state(ClusterState state) noexcept {
    std::lock_guard lock(handler_mutex_);
    if (!state_handler_) return;
    try {
        state_handler_(state);
    } catch (...) {
    }
}

void RdKafkaProducerImpl::report_error(int code, std::string_view reason) noexcept {
    try {
        if (options_.error_callback) {
            options_.error_callback(code, reason);
        } else {
            stderr_.print("kafka_log: librdkafka error " +
                          std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(code))) + ": " +
                          scrub_config(std::string(reason), config_, min_value_in_lines));
        }
    } catch (...) {
    }
}

void RdKafkaProducerImpl::report_log(int level, std::string_view facility, std::string_view line) noexcept {
    try {
        if (options_.log_callback) {
            options_.log_callback(level, facility, line);
        } else {
            stderr_.print("kafka_log: librdkafka[" + std::to_string(level) + "] " + std::string(facility) +
                          ": " + scrub_config(std::string(line), config_, min_value_in_lines));
        }
    } catch (...) {
    }
}

void RdKafkaProducerImpl::serve_refused() noexcept {
    for (;;) {
        RefusedRecord record;
        {
            std::lock_guard lock(refused_mutex_);
            if (refused_.empty()) return;
            record = std::move(refused_.front());
            refused_.pop_front();
        }
        std::vector<RecordHeader> headers;
        try {
            headers.reserve(record.headers.size());
            for (const auto& [name, value] : record.headers) headers.push_back(RecordHeader{name, value});
        } catch (...) {
            // No memory: reported without headers rather than not at all.
        }
        deliver(MessageView{record.topic, record.key, record.payload, headers, record.timestamp_ms, record.token},
                std::move(record.error));
    }
}

void RdKafkaProducerImpl::poll_loop() noexcept {
    ProducerCallbackScope scope;
    ::pthread_setname_np(::pthread_self(), "kafka_log:prod");  // as top and perf show it
    while (!stop_.load(std::memory_order_acquire)) {
        serve_refused();
        if (!ring_mode_) {
            rd_kafka_poll(rk_.get(), 100);  // rd_kafka_yield() wakes it early
            publish_settled();
            continue;
        }
        if (drain_rings(purging_.load(std::memory_order_acquire)) > 0) {
            rd_kafka_poll(rk_.get(), 0);  // serve reports between batches
            publish_settled();
            continue;
        }
        if (passed_busy_ring_) {
            // A logging thread is emptying a ring (one batch): let it run, then look again.
            rd_kafka_poll(rk_.get(), 0);
            publish_settled();
            std::this_thread::yield();
            continue;
        }
        publish_settled();
        // Idle: announce the wait, then look once more. A producer installs its lane's ring
        // and reserves its slot (seq_cst CASes) before it reads sleeping_, so either we see
        // its slot here or it sees us asleep and wakes us with rd_kafka_yield().
        sleeping_.store(true, std::memory_order_seq_cst);
        if (rings_empty()) rd_kafka_poll(rk_.get(), 100);
        sleeping_.store(false, std::memory_order_relaxed);
        publish_settled();
    }
}

rd_kafka_resp_err_t RdKafkaProducerImpl::producev(rd_kafka_topic_t* topic, std::string_view payload,
                                                  std::string_view key, std::uint64_t token) noexcept {
    // A token alone never allocates (make_opaque's bit-62 form): nothing to free on refusal.
    return rd_kafka_producev(rk_.get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
                             RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
                             RD_KAFKA_V_OPAQUE(make_opaque(0, token)), RD_KAFKA_V_END);
}

rd_kafka_resp_err_t RdKafkaProducerImpl::producev_with_metadata(rd_kafka_topic_t* topic,
                                                                const MessageView& message) noexcept {
    rd_kafka_headers_t* headers = nullptr;
    if (!message.headers.empty()) {
        headers = rd_kafka_headers_new(message.headers.size());
        for (const RecordHeader& header : message.headers) {
            // Sizes are explicit: a value may hold any byte, NUL included. An empty value is
            // sent as an empty value, not a null one.
            rd_kafka_header_add(headers, header.name.empty() ? "" : header.name.data(),
                                static_cast<ssize_t>(header.name.size()),
                                header.value.empty() ? "" : header.value.data(),
                                static_cast<ssize_t>(header.value.size()));
        }
    }
    const std::string_view payload = message.payload;
    const std::string_view key = message.key;
    void* const opaque = make_opaque(message.timestamp_ms, message.token);
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_TIMESTAMP(message.timestamp_ms), RD_KAFKA_V_OPAQUE(opaque),
        RD_KAFKA_V_END);
    // librdkafka owns the headers (and the opaque's report) only when it took the record.
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (headers != nullptr) rd_kafka_headers_destroy(headers);
        take_opaque(opaque);
    }
    return err;
}

bool RdKafkaProducerImpl::rings_empty() const noexcept {
    for (const Lane& lane : lanes_) {
        const Ring* ring = lane.ring.load(std::memory_order_seq_cst);
        if (ring != nullptr && !ring->empty()) return false;
    }
    return true;
}

std::size_t RdKafkaProducerImpl::drain_rings(bool purge, bool wait) noexcept {
    // A batch from each lane in turn, so a busy thread does not hold back another's records.
    std::size_t taken = 0;
    passed_busy_ring_ = false;
    for (;;) {
        std::size_t round = 0;
        for (Lane& lane : lanes_) {
            if (Ring* ring = lane.ring.load(std::memory_order_acquire)) round += drain_batch(*ring, purge, wait);
        }
        if (round == 0) return taken;
        taken += round;
    }
}

std::size_t RdKafkaProducerImpl::collect_batch(Ring& ring, Batch& batch, rd_kafka_topic_t*& topic,
                                               std::size_t& skipped) noexcept {
    using Slot = Ring::Slot;
    std::size_t n = 0;
    for (Slot* slot = ring.peek(0); slot != nullptr && n < batch_max; slot = ring.peek(n)) {
        if (slot->skip) {
            if (n > 0) break;  // taken out on the next round, on its own
            ring.pop();
            ++skipped;
            continue;
        }
        if (n > 0 && slot->tag.topic != topic) break;
        topic = slot->tag.topic;
        rd_kafka_message_t& m = batch[n++];
        m = rd_kafka_message_t{};
        m._private = make_opaque(0, slot->tag.token);  // never allocates: a token alone
        m.payload = slot->payload.data();
        m.len = slot->payload.size();
        m.key = slot->key.empty() ? nullptr : slot->key.data();
        m.key_len = slot->key.size();
    }
    return n;
}

std::size_t RdKafkaProducerImpl::drain_batch(Ring& ring, bool purge, bool wait) noexcept {
    using Slot = Ring::Slot;
    // A logging thread may be emptying this ring (help_drain): pass it over, or wait.
    if (wait) {
        ring.lock_consumer();
    } else if (!ring.try_lock_consumer()) {
        passed_busy_ring_ = true;
        return 0;
    }
    Ring::ConsumerLock consumer(ring, std::adopt_lock);
    // Consecutive records of one topic go to librdkafka in one rd_kafka_produce_batch call.
    Batch batch;  // each entry is set before use: no 16 KiB clear per call
    std::size_t skipped = 0;
    rd_kafka_topic_t* topic = nullptr;
    const std::size_t n = collect_batch(ring, batch, topic, skipped);
    if (n == 0) return skipped;

    if (purge) {
        for (std::size_t i = 0; i < n; ++i) batch[i].err = RD_KAFKA_RESP_ERR__PURGE_QUEUE;
    } else if (rd_kafka_produce_batch(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, batch.data(),
                                      static_cast<int>(n)) == static_cast<int>(n)) {
        for (std::size_t i = 0; i < n; ++i) ring.pop();
        return skipped + n;
    }
    for (std::size_t i = 0; i < n; ++i) {
        Slot* slot = ring.peek(0);
        rd_kafka_resp_err_t err = batch[i].err;
        // librdkafka's queue is full only when its count and ours disagree for a moment
        // (ours is released after the report is served): serve reports and try again.
        while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk_.get(), 1);
            if (purging_.load(std::memory_order_acquire) || stop_.load(std::memory_order_acquire)) {
                err = RD_KAFKA_RESP_ERR__PURGE_QUEUE;
            } else {
                err = producev(slot->tag.topic, slot->payload, slot->key, slot->tag.token);
            }
        }
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            MessageView view{rd_kafka_topic_name(slot->tag.topic), slot->key, slot->payload};
            view.token = slot->tag.token;
            try {
                deliver(view, DeliveryError{err, rd_kafka_err2str(err), false});
            } catch (...) {
                settle(view.payload.size());
            }
        }
        ring.pop();
    }
    return skipped + n;
}

bool RdKafkaProducerImpl::help_drain(Ring& ring) noexcept {
    // A logging thread found its lane's ring full: it hands the ring's oldest records to
    // librdkafka itself, in order, so its own record can follow them into the ring. It
    // waits a little for the producer thread to finish a batch of this ring, never for
    // anything else; errors, retries and reports stay the producer thread's.
    if (purging_.load(std::memory_order_acquire)) return false;
    bool locked = ring.try_lock_consumer();
    for (int i = 0; i < 64 && !locked; ++i) {
        std::this_thread::yield();
        locked = ring.try_lock_consumer();
    }
    if (!locked) return false;
    Ring::ConsumerLock consumer(ring, std::adopt_lock);
    Batch batch;
    std::size_t skipped = 0;
    rd_kafka_topic_t* topic = nullptr;
    const std::size_t n = collect_batch(ring, batch, topic, skipped);
    if (n == 0) return skipped > 0;
    const int good = rd_kafka_produce_batch(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, batch.data(),
                                            static_cast<int>(n));
    if (good == static_cast<int>(n)) {
        for (std::size_t i = 0; i < n; ++i) ring.pop();
        return true;
    }
    // librdkafka refused some: they stay at the front for the producer thread to settle;
    // the ones it took behind them are marked to be popped without producing them again.
    std::size_t popped = 0;
    while (popped < n && batch[popped].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ring.pop();
        ++popped;
    }
    for (std::size_t i = popped; i < n; ++i) {
        if (batch[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) ring.peek(i - popped)->skip = true;
    }
    published();  // the producer thread may be asleep: the refused ones are its to settle
    return popped > 0;
}

// --- producing ------------------------------------------------------------------------

rd_kafka_topic_t* RdKafkaProducerImpl::topic_handle(std::string_view name) {
    // Fast path: a writer produces to one topic; its entry is published once and read with
    // a plain load (no lock, no shared cache line written).
    if (const TopicEntry* last = last_topic_.load(std::memory_order_acquire); last && last->name == name) {
        return last->handle;
    }
    {
        std::shared_lock lock(topics_mutex_);
        const auto it = topics_.find(name);
        if (it != topics_.end()) return it->second.get();
    }
    std::unique_lock lock(topics_mutex_);
    const auto it = topics_.find(name);
    if (it != topics_.end()) return it->second.get();
    std::string key(name);
    TopicPtr handle(rd_kafka_topic_new(rk_.get(), key.c_str(), nullptr));
    if (!handle) return nullptr;
    rd_kafka_topic_t* raw = topics_.emplace(key, std::move(handle)).first->second.get();
    // Entries live until the producer is destroyed, so a published pointer never dangles.
    topic_entries_.push_back(std::make_unique<TopicEntry>(TopicEntry{std::move(key), raw}));
    last_topic_.store(topic_entries_.back().get(), std::memory_order_release);
    return raw;
}

RdKafkaProducerImpl::Ring* RdKafkaProducerImpl::lane_ring(Lane& lane) noexcept {
    if (Ring* ring = lane.ring.load(std::memory_order_acquire)) return ring;
    try {
        auto fresh = std::make_unique<Ring>(ring_slots_);
        Ring* other = nullptr;
        if (lane.ring.compare_exchange_strong(other, fresh.get(), std::memory_order_seq_cst, std::memory_order_acquire)) {
            return fresh.release();  // deleted with the producer
        }
        return other;  // another thread of the lane was first
    } catch (...) {
        return nullptr;  // no memory for a ring: the caller hands its record over itself
    }
}

bool RdKafkaProducerImpl::take_credit(Lane& lane, std::uint64_t bytes) noexcept {
    const std::uint64_t cost = (std::uint64_t{1} << credit_shift) | bytes;
    bool swept = false;
    for (int attempt = 0; attempt < 8; ++attempt) {
        std::uint64_t held = lane.credit.load(std::memory_order_relaxed);
        while ((held >> credit_shift) >= 1 && (held & credit_bytes_mask) >= bytes) {
            if (lane.credit.compare_exchange_weak(held, held - cost, std::memory_order_relaxed)) return true;
        }
        if (refill(lane, held, bytes)) continue;  // another thread of the lane may take it first: look again
        if (swept) return false;
        // The pool is short: before refusing, bring back what other lanes hold and do not
        // use, so that the bound is librdkafka's, not lower. Only ever near the bound.
        for (Lane& other : lanes_) {
            const std::uint64_t idle = other.credit.exchange(0, std::memory_order_relaxed);
            pool_bytes_.fetch_add(idle & credit_bytes_mask, std::memory_order_relaxed);
            pool_records_.fetch_add(idle >> credit_shift, std::memory_order_relaxed);
        }
        swept = true;
    }
    return false;
}

bool RdKafkaProducerImpl::refill(Lane& lane, std::uint64_t held, std::uint64_t bytes) noexcept {
    // Takes up to `want` (at least `need`) from a pool; 0 when it holds less than `need`.
    // Near the bound a lane takes only what it needs, so that no record is refused while
    // other lanes hold credit.
    const auto take = [](std::atomic<std::uint64_t>& pool, std::uint64_t want, std::uint64_t need) -> std::uint64_t {
        std::uint64_t available = pool.load(std::memory_order_relaxed);
        for (;;) {
            if (available < need) return 0;
            const std::uint64_t got = available / 2 < lane_count * want ? need : std::min(want, available);
            if (pool.compare_exchange_weak(available, available - got, std::memory_order_relaxed)) return got;
        }
    };
    std::uint64_t records = 0;
    if ((held >> credit_shift) == 0) {
        records = take(pool_records_, chunk_records_, 1);
        if (records == 0) return false;
    }
    std::uint64_t more_bytes = 0;
    const std::uint64_t held_bytes = held & credit_bytes_mask;
    if (held_bytes < bytes) {
        const std::uint64_t need = bytes - held_bytes;
        more_bytes = take(pool_bytes_, std::max(chunk_bytes_, need), need);
        if (more_bytes == 0) {
            pool_records_.fetch_add(records, std::memory_order_relaxed);
            return false;
        }
    }
    lane.credit.fetch_add((records << credit_shift) | more_bytes, std::memory_order_relaxed);
    return true;
}

ProduceStatus RdKafkaProducerImpl::produce(const MessageView& message) {
    // In a forked child nothing reaches librdkafka (its threads are the parent's): the caller
    // keeps its record. Checked before counting in, so the parent's counters stay untouched.
    if (forked()) return ProduceStatus::closed;
    // Count in first, then look at closed_ (both seq_cst): close() stores closed_ and then
    // waits for in_flight() to reach zero, so a record it does not wait for sees closed_.
    Lane& lane = my_lane();
    lane.accepted.fetch_add(1, std::memory_order_seq_cst);
    if (closed_.load(std::memory_order_seq_cst)) {
        refuse(nullptr, 0);
        return ProduceStatus::closed;
    }
    const std::uint64_t bytes = message.payload.size();
    if (ring_mode_) {
        // librdkafka's own checks, made here so their answer reaches the caller at once.
        if (message.payload.size() + message.key.size() + record_overhead > max_record_bytes_) {
            refuse(nullptr, 0);
            return ProduceStatus::too_large;
        }
        if (!take_credit(lane, bytes)) {
            refuse(nullptr, 0);
            return ProduceStatus::queue_full;
        }
    }
    rd_kafka_topic_t* topic = topic_handle(message.topic);
    const bool plain = fits_ring(message);
    if (ring_mode_ && plain && topic != nullptr) {
        Ring* ring = lane_ring(lane);
        if (ring != nullptr && ring->try_push(RingTag{topic, message.token}, message.payload, message.key)) {
            published();
            return ProduceStatus::accepted;
        }
        // The ring is full: this thread empties some of it itself, oldest first, and queues
        // its record behind. When it cannot (the producer thread is busy with this ring), it
        // hands its record to librdkafka directly, maybe ahead of older ones of its own.
        if (ring != nullptr && help_drain(*ring) && ring->try_push(RingTag{topic, message.token}, message.payload, message.key)) {
            published();
            return ProduceStatus::accepted;
        }
    }
    // Not for a ring (ProduceOn::calling_thread, a record with headers or a timestamp, a full
    // ring): handed to librdkafka here. In ring mode its credit was taken above, as for a ring
    // record: settle() or its report returns it.
    const rd_kafka_resp_err_t err = topic == nullptr ? rd_kafka_last_error()
                                    : plain          ? producev(topic, message.payload, message.key, message.token)
                                                     : producev_with_metadata(topic, message);
    return settle(err, message);
}

void RdKafkaProducerImpl::published() noexcept {
    if (sleeping_.load(std::memory_order_seq_cst) && sleeping_.exchange(false, std::memory_order_acq_rel)) {
        rd_kafka_yield(rk_.get());
    }
}

ProduceStatus RdKafkaProducerImpl::settle(rd_kafka_resp_err_t err, const MessageView& message) {
    Lane* credit_lane = ring_mode_ ? &my_lane() : nullptr;  // produce() took credit in ring mode
    switch (err) {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            return ProduceStatus::accepted;
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
            refuse(credit_lane, message.payload.size());
            return err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? ProduceStatus::queue_full : ProduceStatus::too_large;
        default:
            break;
    }
    // Any other refusal (unknown or unauthorized topic, fatal producer state): accepted, and
    // reported failed from the poll thread, so the record reaches the caller's fallback with
    // librdkafka's reason (its credit goes back to the pool with the report).
    try {
        RefusedRecord record{std::string(message.topic), std::string(message.key), std::string(message.payload),
                             {}, message.timestamp_ms, DeliveryError{err, rd_kafka_err2str(err), false},
                             message.token};
        record.headers.reserve(message.headers.size());
        for (const RecordHeader& header : message.headers) record.headers.emplace_back(header.name, header.value);
        std::lock_guard lock(refused_mutex_);
        refused_.push_back(std::move(record));
    } catch (...) {
        refuse(credit_lane, message.payload.size());
        throw;  // the caller's record is still its own: KafkaWriter sends it to the fallback
    }
    rd_kafka_yield(rk_.get());
    return ProduceStatus::accepted;
}

bool RdKafkaProducerImpl::wait_idle_until(Clock::time_point deadline) {
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    bool idle = false;
    {
        std::unique_lock lock(idle_mutex_);
        idle = idle_cv_.wait_until(lock, deadline, [this] { return in_flight() == 0; });
    }
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    return idle;
}

bool RdKafkaProducerImpl::flush(std::chrono::milliseconds timeout) {
    // In a forked child nothing of the child's is ever in flight (produce refuses), and the
    // parent's records will never be reported here: nothing to wait for.
    if (forked()) return true;
    return wait_idle_until(Clock::now() + timeout);
}

void RdKafkaProducerImpl::close(std::chrono::milliseconds timeout) {
    // In a forked child: no purge (librdkafka's threads are gone), no join (so is the poll
    // thread), and no call_once (the parent may have been inside close at the fork).
    if (forked()) return;
    std::call_once(close_once_, [&] {
        closed_.store(true, std::memory_order_seq_cst);

        const auto deadline = Clock::now() + timeout;
        if (!wait_idle_until(deadline)) {
            purging_.store(true, std::memory_order_release);  // ring records: reported purged
            rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_yield(rk_.get());
            // Purged reports arrive on the next poll; the poll thread serves them at once.
            wait_idle_until(Clock::now() + std::chrono::seconds(1));
        }
        stop_.store(true, std::memory_order_release);
        rd_kafka_yield(rk_.get());
        if (poller_.joinable()) poller_.join();

        // Whatever is left is served here, bounded, so every report precedes our return.
        ProducerCallbackScope scope;
        const auto last = Clock::now() + std::chrono::seconds(1);
        do {
            serve_refused();
            if (ring_mode_) drain_rings(true, true);  // a record a late produce() published after the thread left
            rd_kafka_poll(rk_.get(), 10);
            publish_settled();
        } while (in_flight() != 0 && Clock::now() < last);
    });
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
ProduceStatus RdKafkaProducer::produce(const MessageView& message) { return impl_->produce(message); }
bool RdKafkaProducer::flush(std::chrono::milliseconds timeout) { return impl_->flush(timeout); }
void RdKafkaProducer::close(std::chrono::milliseconds timeout) { impl_->close(timeout); }
std::string RdKafkaProducer::redacted_config() const { return impl_->redacted_config(); }
std::uint64_t RdKafkaProducer::in_flight() const noexcept { return impl_->in_flight(); }
bool RdKafkaProducer::cluster_unreachable() const noexcept { return impl_->cluster_unreachable(); }

}  // namespace kafka_log
