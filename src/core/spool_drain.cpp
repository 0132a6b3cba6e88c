// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/spool_drain.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <new>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "../detail/fork_generation.hpp"
#include "../detail/spool_format.hpp"
#include "kafka_log/spool_reader.hpp"
#include "spool/replay_message.hpp"
#include "spool/replay_segment.hpp"
#include "spool/replay_source.hpp"

namespace kafka_log {

namespace sp = detail::spool;

namespace {

using clock = std::chrono::steady_clock;

void stderr_line(const std::string& text) noexcept {
    const std::string line = text + "\n";
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace

struct KAFKA_LOG_NO_EXPORT SpoolDrain::Impl {
    std::shared_ptr<SpoolFallback> spool;
    std::shared_ptr<AsyncProducer> producer;
    SpoolDrainOptions options;
    Gate gate;

    struct Sent {
        std::shared_ptr<sp::ReplaySegment> segment;
        std::uint64_t offset;
        bool unconfirmed;  // an earlier send of it may be on Kafka: it never becomes "held" again
        bool flagged;      // sent as `possibly-duplicate` (unconfirmed, or spooled so)
    };

    mutable std::mutex mutex;
    std::condition_variable changed;  // a report came, stop, wake
    SpoolDrainStats stats;
    std::unordered_map<std::string, Sent> in_flight;                             // by record id
    std::unordered_map<std::string, std::shared_ptr<sp::ReplaySegment>> active;  // by path
    std::set<std::filesystem::path> seen;  // segments read at least once (counted, corrupt counted)
    std::set<std::filesystem::path> unreadable;
    std::uint64_t generation = detail::fork_generation();
    bool stopping = false;
    bool woken = false;
    bool pass_failed = false;
    std::thread thread;

    bool pass(std::chrono::milliseconds wait,
              const std::function<void(const SpoolDrainStats&)>& progress, bool seal_current,
              bool probe_only);
    bool send_segment(const SpoolSegmentRef& ref, clock::time_point& next_at,
                      const std::function<void(const SpoolDrainStats&)>& progress, bool probe_only);
    void finish_locked(const std::shared_ptr<sp::ReplaySegment>& segment) noexcept;
    void run() noexcept;
};

SpoolDrain::SpoolDrain(std::shared_ptr<SpoolFallback> spool,
                       std::shared_ptr<AsyncProducer> producer, SpoolDrainOptions options,
                       Gate gate)
    : impl_(std::make_shared<Impl>()) {
    if (!spool) throw std::invalid_argument("kafka_log::SpoolDrain: spool is null");
    if (!producer) throw std::invalid_argument("kafka_log::SpoolDrain: producer is null");
    if (options.max_in_flight == 0) options.max_in_flight = 1;
    impl_->spool = std::move(spool);
    impl_->producer = std::move(producer);
    impl_->options = std::move(options);
    impl_->gate = std::move(gate);
}

SpoolDrain::~SpoolDrain() {
    stop();
}

void SpoolDrain::start() {
    std::lock_guard lock(impl_->mutex);
    if (impl_->thread.joinable() || impl_->stopping) return;
    impl_->woken = true;  // a pass at once: records an earlier process left
    impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void SpoolDrain::stop() noexcept {
    if (detail::in_forked_child(impl_->generation)) {
        // The thread (and whoever held the mutex at the fork) is the parent's: touch neither.
        // The std::thread object is let go without join or detach.
        static_cast<void>(new (std::nothrow) std::thread(std::move(impl_->thread)));
        return;
    }
    std::thread thread;
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
        thread = std::move(impl_->thread);
    }
    impl_->changed.notify_all();
    if (thread.joinable()) thread.join();
}

void SpoolDrain::wake() noexcept {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->woken = true;
    }
    impl_->changed.notify_all();
}

SpoolDrainStats SpoolDrain::stats() const {
    std::lock_guard lock(impl_->mutex);
    SpoolDrainStats out = impl_->stats;
    out.in_flight = impl_->in_flight.size();
    return out;
}

bool SpoolDrain::is_replay(const MessageView& message) noexcept {
    return std::any_of(message.headers.begin(), message.headers.end(),
                       [](const RecordHeader& h) { return h.name == replayed_header; });
}

bool SpoolDrain::drain_once(std::chrono::milliseconds wait,
                            const std::function<void(const SpoolDrainStats&)>& progress) {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = false;
    }
    return impl_->pass(wait, progress, true, false);
}

void SpoolDrain::Impl::run() noexcept {
    clock::time_point backoff_until{};
    bool first = true;  // takes what earlier processes left; ours join once a segment is sealed
    std::unique_lock lock(mutex);
    while (!stopping) {
        changed.wait_for(lock, options.idle_interval, [this] { return stopping || woken; });
        if (stopping) break;
        if (woken) backoff_until = {};  // told the cluster is back: no need to wait out a back-off
        woken = false;
        if (clock::now() < backoff_until) continue;
        ++stats.passes;
        lock.unlock();
        bool ok = false;
        try {
            const Permit permit = gate ? gate() : Permit::all;
            if (permit == Permit::all) {
                ok = pass(std::chrono::milliseconds(0), {}, !first, false);
                first = false;
            } else if (permit == Permit::one) {
                // The cluster may be back and nothing else would tell: one record finds out. Its
                // confirmation closes the writer's breaker, and the next pass sends the rest.
                bool idle = false;
                {
                    std::lock_guard guard(mutex);
                    idle = in_flight.empty();
                }
                if (idle) pass(std::chrono::milliseconds(0), {}, true, true);
                ok = false;
            }
        } catch (...) {
            ok = false;  // no memory, say: try again later
        }
        lock.lock();
        if (!ok) backoff_until = clock::now() + options.retry_backoff;
    }
}

bool SpoolDrain::Impl::pass(std::chrono::milliseconds wait,
                            const std::function<void(const SpoolDrainStats&)>& progress,
                            bool seal_current, bool probe_only) {
    {
        std::lock_guard lock(mutex);
        pass_failed = false;
    }
    bool ok = true;
    clock::time_point next_at = clock::now();
    // A probe seals the current segment only when nothing else is there to probe with.
    std::vector<SpoolSegmentRef> segments = spool->drainable_segments(seal_current && !probe_only);
    if (probe_only && seal_current && segments.empty()) segments = spool->drainable_segments(true);
    for (const SpoolSegmentRef& ref : segments) {
        {
            std::unique_lock lock(mutex);
            if (stopping) return false;
            if (unreadable.count(ref.path) != 0) {
                ok = false;  // kept aside
                continue;
            }
            // An earlier pass's records of it are still being answered (a probe, say): wait for
            // them, so that no later segment overtakes the rest of this one.
            const std::string key = ref.path.string();
            if (!changed.wait_for(lock, std::chrono::seconds(5),
                                  [&] { return stopping || active.count(key) == 0; })) {
                ok = false;
                break;
            }
            if (stopping) return false;
        }
        if (!send_segment(ref, next_at, progress, probe_only)) {
            ok = false;
            break;
        }
        if (probe_only) {
            std::lock_guard lock(mutex);
            if (!in_flight.empty()) break;  // the probe is out
        }
    }
    // Wait for the answers (a command waits; the background drain does not).
    std::unique_lock lock(mutex);
    if (wait.count() > 0) {
        changed.wait_for(lock, wait, [this] { return in_flight.empty() || stopping; });
    }
    ok = ok && !pass_failed && in_flight.empty() && active.empty();
    if (progress) {
        SpoolDrainStats now = stats;
        now.in_flight = in_flight.size();
        lock.unlock();
        progress(now);
    }
    return ok;
}

bool SpoolDrain::Impl::send_segment(const SpoolSegmentRef& ref, clock::time_point& next_at,
                                    const std::function<void(const SpoolDrainStats&)>& progress,
                                    bool probe_only) {
    sp::ReplaySource source;
    try {
        source = sp::read_replay_source(ref);
    } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        unreadable.insert(ref.path);
        stderr_line(std::string("kafka_log: not replaying: ") + e.what());
        return true;
    }
    if (source.gone) return true;  // gone meanwhile
    std::vector<SpoolRecord>& records = source.records;

    auto segment = std::make_shared<sp::ReplaySegment>();
    segment->path = ref.path;
    segment->corrupt = source.corrupt > 0;
    {
        std::lock_guard lock(mutex);
        if (seen.insert(ref.path).second) {
            stats.corrupt += source.corrupt;
            if (!ref.own) spool->note_found(records.size());
        }
        if (records.empty()) {
            segment->all_sent = segment->sending_done = true;
            finish_locked(segment);
            return true;
        }
        active.emplace(ref.path.string(), segment);
    }
    segment->fd = ::open(ref.path.c_str(), O_RDWR | O_CLOEXEC);
    if (segment->fd < 0) {
        std::lock_guard lock(mutex);
        active.erase(ref.path.string());
        return true;  // gone meanwhile
    }

    std::vector<RecordHeader> headers;
    bool complete = true;
    std::uint64_t since_progress = 0;
    for (const SpoolRecord& record : records) {
        // Wait for room (in flight), for the rate, and stop when told to or when the cluster
        // went away (the gate closed, or a record failed).
        {
            std::unique_lock lock(mutex);
            changed.wait(lock, [this] {
                return stopping || pass_failed || in_flight.size() < options.max_in_flight;
            });
            if (options.rate > 0) {
                changed.wait_until(lock, next_at, [this] { return stopping; });
                next_at = std::max(next_at, clock::now() - std::chrono::milliseconds(100)) +
                          std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / options.rate));
            }
            if (stopping || pass_failed || (probe_only && !in_flight.empty())) {
                complete = false;
                break;
            }
        }
        if (!probe_only && gate && gate() != Permit::all) {
            complete = false;
            break;
        }
        const MessageView view = sp::replay_message(record, options.topic, headers);
        {
            std::lock_guard lock(mutex);
            in_flight.emplace(record.id, Sent{segment, record.offset, record.replay_unconfirmed,
                                              record.possibly_persisted});
            ++segment->outstanding;
        }
        segment->mark(record.offset, sp::state_replaying);
        ProduceStatus status = ProduceStatus::queue_full;
        try {
            status = producer->produce(view);
            // A full queue: live records come first; wait a little for room, a few times.
            for (int attempt = 0; status == ProduceStatus::queue_full && attempt < 50; ++attempt) {
                std::unique_lock lock(mutex);
                if (changed.wait_for(lock, std::chrono::milliseconds(20),
                                     [this] { return stopping; }))
                    break;
                lock.unlock();
                status = producer->produce(view);
            }
        } catch (...) {
            status = ProduceStatus::queue_full;
        }
        if (status == ProduceStatus::accepted) {
            std::unique_lock lock(mutex);
            stats.sent_bytes += record.payload.size();
            if (progress && ++since_progress % 1000 == 0) {
                SpoolDrainStats now = stats;
                now.in_flight = in_flight.size();
                lock.unlock();
                progress(now);
            }
        } else {
            // Not taken: no report follows. The record stays in the spool as it was.
            segment->mark(record.offset,
                          record.replay_unconfirmed ? sp::state_replaying : sp::state_held);
            std::lock_guard lock(mutex);
            in_flight.erase(record.id);
            --segment->outstanding;
            ++stats.failures;
            segment->failed = true;
            if (status != ProduceStatus::too_large) {
                complete = false;  // queue full or closed: this pass ends
                break;
            }
            // Too large for this producer: it stays in the spool; the rest go on.
        }
    }
    std::lock_guard lock(mutex);
    segment->all_sent = complete;
    segment->sending_done = true;
    if (segment->outstanding == 0) finish_locked(segment);
    return complete && !pass_failed;
}

void SpoolDrain::Impl::finish_locked(const std::shared_ptr<sp::ReplaySegment>& segment) noexcept {
    active.erase(segment->path.string());
    if (!segment->all_sent || segment->failed) return;  // what is left stays for the next pass
    if (segment->corrupt) {
        // Every whole record of it is on Kafka; keep the damaged bytes for a person to look at.
        sp::set_corrupt_segment_aside(segment->path);
        unreadable.insert(segment->path);
        return;
    }
    spool->release_segment(segment->path);
    ++stats.segments_deleted;
}

bool SpoolDrain::on_report(const DeliveryReport& report) noexcept {
    if (!is_replay(report.message)) return false;
    Impl& s = *impl_;
    try {
        const std::string id(sp::header_value(report.message, replay_id_header));
        std::lock_guard lock(s.mutex);
        const auto it = s.in_flight.find(id);
        if (it == s.in_flight.end()) return true;  // not this drain's (an earlier process's send)
        const Impl::Sent sent = it->second;
        s.in_flight.erase(it);
        if (!report.error) {
            sent.segment->mark(sent.offset, sp::state_replayed);
            ++s.stats.replayed;
            if (sent.flagged) ++s.stats.possibly_duplicate;
            s.spool->note_replayed(1);
        } else {
            // May be on Kafka stays so: a send that never left does not unsend an earlier one.
            const bool maybe_on_kafka = report.error->possibly_persisted || sent.unconfirmed;
            sent.segment->mark(sent.offset, maybe_on_kafka ? sp::state_replaying : sp::state_held);
            ++s.stats.failures;
            sent.segment->failed = true;
            s.pass_failed = true;
        }
        if (--sent.segment->outstanding == 0 && sent.segment->sending_done) {
            s.finish_locked(sent.segment);
        }
    } catch (...) {
        // No memory for the id: the record stays marked "being replayed"; a later pass re-sends it.
    }
    s.changed.notify_all();
    return true;
}

}  // namespace kafka_log
