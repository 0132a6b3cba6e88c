// SPDX-License-Identifier: Apache-2.0
// The soak (`bash ci/soak.sh MINUTES`; built with the tests, never run by ctest): cycle after
// cycle until the minutes pass, a child (kafka_log_chaos_child, the journal on) logs under load
// while random faults from soak_faults.hpp hit the cluster together — down, down then up,
// flapping, a broker slower than message.timeout.ms, partition leaders moving, retriable and
// non-retriable produce errors — with a small producer queue (queue full) and records too large
// now and then; each life of a child ends with a SIGKILL at a random moment or a clean close
// with records in flight. One to three lives share a cycle's cluster, topic and spool (each
// child drains what the ones before it left), then a last writer drains the spool, and:
//
//   - a child that closed: its writer's identity holds, nothing in flight or lost, and it
//     counted every record whose write returned;
//   - the last writer's identity holds, nothing lost;
//   - every record whose write returned is on the topic or in the spool; the spool holds only
//     records too large for message.max.bytes (a drain can never send them: it keeps them
//     and tries again each pass), read back from it with SpoolReader;
//   - a record is on the topic more than once only as copies flagged possibly-duplicate, or as
//     live copies alone: the mock cluster's lost idempotence (kill_chaos_test.cpp), counted
//     `live_twice` and not failed; or as unflagged copies of one send of a drain, all on one
//     partition (the same class, on a replayed record), counted `replay_twice`. Unflagged copies
//     on several partitions were sent twice by kafka_log: a failure, shown with each copy's
//     partition, offset, timestamp and `kafka_log.id`;
//   - nothing unknown is on the topic or in the spool.
//
// A record on neither that librdkafka confirmed without an offset is counted `implicit_acks`,
// not lost: its request failed with a retriable error and a later request of its partition
// succeeded, which the mock cluster writes without checking sequence numbers (Kafka refuses
// it), so librdkafka's implicit acknowledgement claims a record the mock never wrote. Each
// child and the last writer list such records (offsetless_confirmations.hpp).
//
// Records a broker refuses (a non-retriable error) are fallback records in the spool too; the
// mock refuses a request once per error pushed, so a drain sends them again and they arrive
// (flagged `1`, or possibly-duplicate). A record that failed again would stay in the spool: the
// drain stops its pass at it and tries again after its back-off (SpoolDrainTest).
//
// Each cycle prints a line, the run ONE summary line:
//   soak: cycles=N records=N lost=N implicit_acks=N duplicates=N (flagged=N live_twice=N
//         replay_twice=N)
//         faults=... seed=N minutes=M
// and fails (exit status 1) when a record was lost or duplicated without the flag.
//
// Knobs (environment):
//   KAFKA_LOG_SOAK_MINUTES      how long (default 1; ci/soak.sh passes its argument)
//   KAFKA_LOG_SOAK_SEED         the seed of every choice (default: random; printed)
//   KAFKA_LOG_SOAK_FIRST_CYCLE  start at this cycle (with the seed: replays a cycle's faults)
//   KAFKA_LOG_SOAK_CYCLES       stop after this many cycles (0, the default: when time is up)
//   KAFKA_LOG_SOAK_RATE         records/s of a child (20000; one life in four: flat out)
//   KAFKA_LOG_SOAK_THREADS      logging threads of a child (2)
//   KAFKA_LOG_SOAK_LIVES        children per cycle, at most (3)
//   KAFKA_LOG_SOAK_FAULTS       every life gets exactly these faults, e.g.
//                               `slow,leaders,non-retriable,too-large,kill` (names as in the
//                               summary; the end, kill or close, random when neither is named)
//
// When records are lost, the cycle prints where they went: the lost ranges per life and thread;
// each child's last counters (published every 50 ms into its counts file, so a killed child's
// too) and its stderr; and, from a copy of the spool taken after each life (before the next one
// or the last writer touched it), the frames that hold the lost records, with their state,
// reason and segment. The copies are kept (their directory is printed).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "chaos_payload.hpp"
#include "chaos_support.hpp"
#include "integration_support.hpp"
#include "kafka_log/spool_drain.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "kafka_log/spool_reader.hpp"
#include "offsetless_confirmations.hpp"
#include "soak_faults.hpp"
#include "soak_forensics.hpp"

namespace kafka_log::test {
namespace {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;

struct SoakSettings {
    double minutes = 1;
    std::uint64_t seed = env_number("KAFKA_LOG_SOAK_SEED", std::random_device{}());
    std::uint64_t first_cycle = env_number("KAFKA_LOG_SOAK_FIRST_CYCLE", 0);
    std::uint64_t cycles = env_number("KAFKA_LOG_SOAK_CYCLES", 0);
    std::uint64_t rate = env_number("KAFKA_LOG_SOAK_RATE", 20000);
    int threads = static_cast<int>(env_number("KAFKA_LOG_SOAK_THREADS", 2));
    int max_lives = static_cast<int>(env_number("KAFKA_LOG_SOAK_LIVES", 3));
    std::string faults =
        std::getenv("KAFKA_LOG_SOAK_FAULTS") ? std::getenv("KAFKA_LOG_SOAK_FAULTS") : "";
};

/// A cycle's own seed: a cycle replays alone with the run's seed and its number.
std::uint64_t cycle_seed(std::uint64_t seed, std::uint64_t cycle) {
    std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (cycle + 1);  // splitmix64
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// One life of a child: its faults and what it published.
struct Life {
    LifePlan plan;
    std::vector<std::uint64_t> published;  // per thread: records whose write returned
    fs::path snapshot;                     // a copy of the spool as the life left it
    fs::path stderr_path;                  // the child's stderr
    std::string last_stats;                // the child's last published counters
    bool closed = false;                   // it closed cleanly and wrote its counters
    std::uint64_t delivered = 0;           // ... of which: records Kafka confirmed
    std::vector<std::string> offsetless;   // records confirmed without an offset (their prefix)
};

/// What the soak measured, in all.
struct Totals {
    std::uint64_t cycles = 0;
    std::uint64_t lives = 0;
    std::uint64_t records = 0;        // records whose write returned
    std::uint64_t on_topic = 0;       // records read back from the topics
    std::uint64_t in_spool = 0;       // records too large, read back from the spools
    std::uint64_t lost = 0;           // returned, neither on the topic nor in the spool
    std::uint64_t implicit_acks = 0;  // ... but confirmed without an offset: the mock's, not lost
    std::uint64_t duplicates = 0;     // copies on a topic beyond a record's first
    std::uint64_t flagged = 0;        // ... of them flagged possibly-duplicate
    std::uint64_t live_twice = 0;     // ... of them live copies of a record never replayed
    std::uint64_t replay_twice = 0;   // ... unflagged copies of one send of a drain (one partition)
    std::uint64_t unflagged = 0;      // ... of them unflagged copies of a replayed record (a bug)
    std::uint64_t replayed_last = 0;  // records the last writers replayed
    std::map<std::string, std::uint64_t> faults;
};

/// The counters a child that closed wrote (chaos_child.cpp, --stats).
std::map<std::string, std::uint64_t> read_stats(const fs::path& path) {
    std::map<std::string, std::uint64_t> out;
    std::istringstream in(read_text(path));
    for (std::string pair; in >> pair;) {
        const auto eq = pair.find('=');
        if (eq != std::string::npos)
            out[pair.substr(0, eq)] = std::strtoull(pair.c_str() + eq + 1, nullptr, 10);
    }
    return out;
}

WriterStats writer_stats_of(std::map<std::string, std::uint64_t> v) {
    WriterStats s;
    s.submitted = v["submitted"];
    s.delivered = v["delivered"];
    s.in_flight = v["in_flight"];
    s.lost = v["lost"];
    s.fallback_queue_full = v["fallback_queue_full"];
    s.fallback_too_large = v["fallback_too_large"];
    s.fallback_delivery_failed = v["fallback_delivery_failed"];
    s.fallback_closed = v["fallback_closed"];
    s.fallback_unreachable = v["fallback_unreachable"];
    s.fallback_reentrant = v["fallback_reentrant"];
    s.possibly_persisted = v["possibly_persisted"];
    return s;
}

std::vector<std::string> child_arguments(const EmbeddedCluster& cluster, const std::string& topic,
                                         const fs::path& spool_dir, int run,
                                         const fs::path& counts_path, const fs::path& stats_path,
                                         int threads, const LifePlan& plan) {
    std::vector<std::string> args{cluster.bootstrap_servers(),
                                  topic,
                                  spool_dir.string(),
                                  std::to_string(run),
                                  counts_path.string(),
                                  std::to_string(threads),
                                  "--rate",
                                  std::to_string(plan.rate),
                                  "--message-timeout-ms",
                                  std::to_string(SoakLimits::message_timeout_ms),
                                  "--message-max-bytes",
                                  std::to_string(SoakLimits::message_max_bytes)};
    if (plan.small_queue) {
        args.insert(args.end(), {"--queue-messages", std::to_string(plan.queue_messages)});
    }
    if (plan.big) {
        args.insert(args.end(), {"--big-every", std::to_string(plan.big_every), "--big-bytes",
                                 std::to_string(SoakLimits::big_bytes)});
    }
    if (plan.close) {
        args.insert(args.end(), {"--stats", stats_path.string(), "--close-timeout-ms",
                                 std::to_string(plan.close_timeout.count())});
    }
    return args;
}

/// One life: a child logs while the plan's faults run, and ends killed or closed.
void run_life(EmbeddedCluster& cluster, const std::string& topic, const TempDir& tmp,
              const fs::path& spool_dir, const SoakSettings& settings, int run, Life& life) {
    const LifePlan& plan = life.plan;
    const std::string n = std::to_string(run);
    const fs::path counts_path = tmp / ("counts-" + n);
    const fs::path stderr_path = tmp / ("stderr-" + n);
    const fs::path stats_path = tmp / ("stats-" + n);
    SharedCounts counts(counts_path, settings.threads);

    std::cout << "  life " << run << " (rate " << plan.rate << ", " << plan.life.count() << " ms):";
    for (const auto& name : faults_of(plan)) std::cout << " " << name;
    if (plan.small_queue) std::cout << " queue=" << plan.queue_messages;
    if (plan.big) std::cout << " big-every=" << plan.big_every;
    if (plan.close) std::cout << " close-timeout=" << plan.close_timeout.count() << "ms";
    std::cout << std::endl;
    if (plan.cluster == ClusterFault::down || plan.cluster == ClusterFault::down_up)
        FaultRunner::all_brokers_down(cluster);
    Child child(child_arguments(cluster, topic, spool_dir, run, counts_path, stats_path,
                                settings.threads, plan),
                stderr_path);
    // The faults start once the child runs its own program: a broker taken down while a
    // spawned process still shares this one's descriptors (before its exec) keeps its listening
    // socket open, and the mock cannot listen on its port again (it aborts).
    FaultRunner faults(cluster, topic, plan);
    // The life's time counts from its first record (SIGUSR1 is blocked by then).
    const bool started =
        wait_until([&] { return counts.total() > 0 || !child.running(); }, std::chrono::minutes(1));
    const auto since = clock::now();
    wait_until([&] { return !child.running() || counts.total() >= SoakLimits::max_records; },
               plan.life);
    const bool alive = child.running();
    const double seconds = std::chrono::duration<double>(clock::now() - since).count();
    bool closed = false;
    if (alive && plan.close) {
        child.send(SIGUSR1);
        closed = child.wait_exit(plan.close_timeout + std::chrono::minutes(1));
    }
    child.kill_and_reap();  // the end of a killed life; a child that did not close in time
    const std::string fault_error = faults.stop();
    for (int t = 0; t < settings.threads; ++t) life.published.push_back(counts.of(t));
    life.stderr_path = stderr_path;
    life.last_stats = counts.stats_line();
    life.offsetless = read_offsetless(counts_path.string() + ".no-offset");
    // The spool as this life left it, before the next life or the last writer touches it.
    life.snapshot = tmp / ("spool-after-life-" + n);
    std::error_code copy_error;
    fs::copy(spool_dir, life.snapshot, fs::copy_options::recursive, copy_error);
    if (copy_error) std::cout << "    (no copy of the spool: " << copy_error.message() << ")\n";

    std::cout << "    " << (plan.close ? "closed" : "killed") << " after " << std::fixed
              << std::setprecision(2) << seconds << " s, " << counts.total() << " records (toggles "
              << faults.toggles() << ", leader moves " << faults.leader_moves()
              << ", errors pushed " << faults.errors_pushed() << ")";
    if (!life.offsetless.empty())
        std::cout << ", " << life.offsetless.size() << " confirmed without an offset";
    std::cout << std::endl;

    // What the child said that matters for the records: fatal errors of the producer (a new
    // client), records it counted lost (printed), segments removed or not made, copies refused.
    {
        std::map<std::string, std::uint64_t> said;
        std::ifstream err(stderr_path, std::ios::binary);  // line by line: it may be large
        for (std::string l; std::getline(err, l);) {
            for (const char* key : {"fatal error", "kafka_log[lost]", "removed while in use",
                                    "no room for journal copies", "cannot make a new segment"}) {
                if (l.find(key) != std::string::npos) ++said[key];
            }
        }
        if (!said.empty()) {
            std::cout << "    the child's stderr:";
            for (const auto& [key, count] : said) std::cout << " '" << key << "' " << count;
            std::cout << std::endl;
        }
    }
    EXPECT_EQ(fault_error, "") << "a fault could not be applied to the cluster";
    ASSERT_TRUE(started && alive) << "life " << run << ": "
                                  << (started ? "the child ended by itself"
                                              : "no record within a minute")
                                  << ", wait status " << child.status() << "; its stderr:\n"
                                  << read_text(stderr_path);
    if (!plan.close) return;
    ASSERT_TRUE(closed && WIFEXITED(child.status()) && WEXITSTATUS(child.status()) == 0)
        << "life " << run << ": the child did not close within its timeout and a minute"
        << " (wait status " << child.status() << "); its stderr:\n"
        << read_text(stderr_path);
    auto values = read_stats(stats_path);
    const WriterStats stats = writer_stats_of(values);
    std::cout << "    closed: " << ::testing::PrintToString(stats) << std::endl;
    life.closed = true;
    life.delivered = stats.delivered;
    EXPECT_TRUE(Balanced(stats)) << "life " << run << " (closed)";
    EXPECT_EQ(stats.in_flight, 0u) << "life " << run << ": in flight after close";
    EXPECT_EQ(stats.lost, 0u) << "life " << run;
    EXPECT_EQ(values["published"], counts.total()) << "life " << run;
    EXPECT_EQ(stats.submitted, counts.total())
        << "life " << run << ": the writer counted a different number of records than returned";
}

/// The spool's records now (those a drain confirmed are skipped).
std::vector<SpoolRecord> spool_records(const fs::path& dir) {
    std::vector<SpoolRecord> out;
    SpoolReader reader(dir);
    for (SpoolRecord r; reader.next(r);) out.push_back(std::move(r));
    return out;
}

bool too_large(const SpoolRecord& r) {
    return r.payload.size() > static_cast<std::size_t>(SoakLimits::message_max_bytes);
}

/// Where a payload belongs: life, thread, seq; false when no child wrote it.
struct Where {
    std::size_t life = 0;
    std::size_t thread = 0;
    std::size_t seq = 0;
};
bool locate(const std::string& payload, const std::vector<Life>& lives, Where& where) {
    int run = -1;
    int thread = -1;
    unsigned long long seq = 0;
    if (std::sscanf(payload.c_str(), "run=%d thread=%d seq=%llu", &run, &thread, &seq) != 3)
        return false;
    if (run < 0 || static_cast<std::size_t>(run) >= lives.size()) return false;
    const Life& life = lives[static_cast<std::size_t>(run)];
    if (thread < 0 || static_cast<std::size_t>(thread) >= life.published.size()) return false;
    // seq == published may be there: its write had not returned when the child was killed.
    if (seq > life.published[static_cast<std::size_t>(thread)]) return false;
    if (payload != chaos_payload(run, thread, seq, life.plan.big_every, SoakLimits::big_bytes))
        return false;
    where = {static_cast<std::size_t>(run), static_cast<std::size_t>(thread),
             static_cast<std::size_t>(seq)};
    return true;
}

/// The last writer of a cycle: the faults gone, the same spool, the journal on; it drains
/// everything but the records too large, then closes. Its identity and the drain are checked.
/// \return the records it replayed.
std::uint64_t drain_with_last_writer(EmbeddedCluster& cluster, const std::string& topic,
                                     const fs::path& spool_dir, const fs::path& offsetless) {
    // Segments holding a record too large stay: the drain keeps them (SpoolDrain, too_large).
    std::set<fs::path> keep;
    for (const SpoolRecord& r : spool_records(spool_dir)) {
        if (too_large(r)) keep.insert(r.segment);
    }
    ClientLog client_log;
    ProducerConfig config = test_config(cluster);
    config.set("message.max.bytes", std::to_string(SoakLimits::message_max_bytes));
    auto producer = std::make_shared<OffsetlessRecorder>(
        std::make_shared<RdKafkaProducer>(std::move(config), client_log.options()), offsetless);
    auto spool = std::make_shared<SpoolFallback>(
        spool_dir, SpoolOptions{.segment_bytes = 1 << 20, .replay_rate = 200000, .journal = true});
    KafkaWriter writer(producer, spool, WriterOptions{.topic = topic});
    // Done when only records too large are left; the spool is read again at most every 100 ms.
    auto next_read = clock::now();
    std::string left;
    const bool drained = wait_until(
        [&] {
            if (writer.drain_stats().in_flight > 0 || segments_in(spool_dir) > keep.size() ||
                clock::now() < next_read)
                return false;
            next_read = clock::now() + std::chrono::milliseconds(100);
            try {
                std::uint64_t n = 0;
                for (const SpoolRecord& r : spool_records(spool_dir)) {
                    if (!too_large(r) && ++n == 1) left = r.payload;
                }
                left = n == 0 ? "" : std::to_string(n) + " records, the first '" + left + "'";
                return n == 0;
            } catch (const SpoolError&) {
                return false;  // a segment went while it was read: read again
            }
        },
        std::chrono::minutes(2));
    writer.close(std::chrono::seconds(5));
    const WriterStats stats = writer.stats();
    const SpoolDrainStats drain = writer.drain_stats();
    EXPECT_TRUE(drained) << "not drained within 2 minutes: " << left << "; "
                         << segments_in(spool_dir) << " segment files, " << keep.size()
                         << " of them with records too large; drain: replayed " << drain.replayed
                         << ", failures " << drain.failures;
    EXPECT_TRUE(Balanced(stats)) << "the last writer";
    EXPECT_EQ(stats.lost, 0u);
    EXPECT_EQ(stats.in_flight, 0u);
    EXPECT_EQ(drain.corrupt, 0u) << "the drain met corrupt stretches";
    for (const auto& name : names_in(spool_dir)) {
        EXPECT_FALSE(name.ends_with(".corrupt")) << "left in the spool: " << name;
    }
    if (::testing::Test::HasFailure()) {
        for (const auto& l : client_log.lines())
            std::cerr << "  librdkafka (last writer): " << l << "\n";
    }
    return drain.replayed;
}

/// How many copies of each record are where (per life, thread, seq).
struct Copies {
    std::vector<std::uint16_t> all, unflagged, plain_replays, spooled, live;
};

/// The read-back: the topic and the spool against what the lives published.
///
/// A record librdkafka confirmed without an offset (`offsetless`: the lives' and the last
/// writer's) that is on neither is not lost by kafka_log: it was implicitly acknowledged (a
/// later request of its partition succeeded after its own failed with a retriable error), and
/// the mock cluster, which does not check sequence numbers, wrote the later request without it.
/// Kafka would have refused the later one. Such records are counted `implicit_acks`.
void read_back(EmbeddedCluster& cluster, const std::string& topic, const fs::path& spool_dir,
               const std::vector<Life>& lives, const std::vector<std::string>& offsetless,
               Totals& totals, std::ostream& line, std::vector<LostRecord>& lost_records) {
    const std::vector<TopicRecord> records = cluster.read_all(topic, std::chrono::minutes(1));
    ASSERT_EQ(records.size(), cluster.message_count(topic))
        << "the mock cluster dropped old records (retention): more partitions needed";
    const std::vector<SpoolRecord> spooled = spool_records(spool_dir);

    std::vector<std::vector<Copies>> copies(lives.size());
    for (std::size_t i = 0; i < lives.size(); ++i) {
        for (const std::uint64_t published : lives[i].published) {
            const std::size_t size = published + 1;
            copies[i].push_back(
                Copies{std::vector<std::uint16_t>(size), std::vector<std::uint16_t>(size),
                       std::vector<std::uint16_t>(size), std::vector<std::uint16_t>(size),
                       std::vector<std::uint16_t>(size)});
        }
    }
    std::uint64_t unknown = 0;
    std::uint64_t flagged_copies = 0;
    for (const TopicRecord& r : records) {
        Where w;
        if (!locate(r.payload, lives, w)) {
            if (++unknown <= 5)
                ADD_FAILURE() << "unknown record on the topic: '" << r.payload.substr(0, 80) << "'";
            continue;
        }
        Copies& c = copies[w.life][w.thread];
        const std::string* replayed = r.header(replayed_header);
        const bool flagged = replayed != nullptr && *replayed == "possibly-duplicate";
        ++c.all[w.seq];
        if (!flagged) ++c.unflagged[w.seq];
        if (replayed != nullptr && !flagged) ++c.plain_replays[w.seq];
        if (replayed == nullptr) ++c.live[w.seq];
        if (flagged) ++flagged_copies;
    }
    std::uint64_t left_behind = 0;
    for (const SpoolRecord& r : spooled) {
        Where w;
        if (!locate(r.payload, lives, w)) {
            if (++unknown <= 5)
                ADD_FAILURE() << "unknown record in the spool: '" << r.payload.substr(0, 80) << "'";
            continue;
        }
        ++copies[w.life][w.thread].spooled[w.seq];
        if (!too_large(r) && ++left_behind <= 5) {
            ADD_FAILURE() << "left in the spool after the drain: '" << r.payload << "'";
        }
    }
    EXPECT_EQ(unknown, 0u) << "records on the topic or in the spool that no child wrote";
    std::set<std::tuple<std::size_t, std::size_t, std::size_t>> confirmed_without_offset;
    for (const std::string& prefix : offsetless) {
        Where w;
        if (locate(prefix, lives, w)) confirmed_without_offset.insert({w.life, w.thread, w.seq});
    }

    // Where the unflagged copies of a record sent again without the flag are: all on one
    // partition, they are one send the producer's retries put there twice (the mock's lost
    // idempotence, as live copies); on several, kafka_log sent it twice.
    std::map<std::tuple<std::size_t, std::size_t, std::size_t>, std::set<std::int32_t>> where;
    int diag_lines = 0;
    for (const TopicRecord& r : records) {
        Where w;
        if (!locate(r.payload, lives, w)) continue;
        const Copies& c = copies[w.life][w.thread];
        const std::string* replayed = r.header(replayed_header);
        if (c.unflagged[w.seq] > 1 && c.plain_replays[w.seq] > 0 &&
            (replayed == nullptr || *replayed != "possibly-duplicate"))
            where[{w.life, w.thread, w.seq}].insert(r.partition);
    }
    // The copies of the first records sent twice, for whoever looks into it.
    for (const TopicRecord& r : records) {
        Where w;
        if (!locate(r.payload, lives, w) || where[{w.life, w.thread, w.seq}].size() < 2) continue;
        if (++diag_lines > 8) break;
        const std::string* replayed = r.header(replayed_header);
        const std::string* id = r.header(replay_id_header);
        std::cout << "    copy of '" << r.payload.substr(0, 40) << "': partition " << r.partition
                  << " offset " << r.offset << " timestamp " << r.timestamp_ms << " replayed "
                  << (replayed ? *replayed : "-") << " id " << (id ? *id : "-") << std::endl;
    }
    std::uint64_t published = 0, lost = 0, implicit_acks = 0, duplicates = 0, flagged = 0,
                  live_twice = 0, replay_twice = 0, unflagged = 0, in_spool = 0;
    std::vector<std::uint64_t> implicit_of_life(lives.size());
    for (std::size_t i = 0; i < lives.size(); ++i) {
        for (std::size_t t = 0; t < lives[i].published.size(); ++t) {
            const Copies& c = copies[i][t];
            const std::uint64_t returned = lives[i].published[t];
            published += returned;
            for (std::size_t seq = 0; seq < c.all.size(); ++seq) {
                in_spool += c.spooled[seq];
                if (seq < returned && c.all[seq] == 0 && c.spooled[seq] == 0) {
                    if (confirmed_without_offset.contains({i, t, seq})) {
                        ++implicit_acks;
                        ++implicit_of_life[i];
                    } else {
                        ++lost;
                        lost_records.push_back(LostRecord{i, t, seq});
                    }
                }
                if (c.all[seq] <= 1) continue;
                const std::uint64_t extra = c.all[seq] - 1u;
                duplicates += extra;
                const std::uint64_t unflagged_extra =
                    c.unflagged[seq] > 1 ? c.unflagged[seq] - 1u : 0;
                flagged += extra - unflagged_extra;
                if (unflagged_extra == 0) continue;
                const auto& partitions = where[{i, t, seq}];
                if (c.plain_replays[seq] == 0) {
                    live_twice += unflagged_extra;  // the mock's lost idempotence
                } else if (partitions.size() == 1) {
                    replay_twice += unflagged_extra;  // the same, on a send of the drain
                } else if (++unflagged <= 5) {
                    ADD_FAILURE() << "life " << i << " thread " << t << " seq " << seq << ": "
                                  << c.all[seq] << " copies on the topic, " << c.unflagged[seq]
                                  << " not flagged possibly-duplicate, " << c.plain_replays[seq]
                                  << " of them sent again by kafka_log, on " << partitions.size()
                                  << " partitions";
                }
            }
        }
    }
    EXPECT_EQ(lost, 0u) << "records whose write returned neither on the topic nor in the spool";
    // A closed life's `delivered` is a claim: each of those records is on the topic as a live
    // copy (sent by its writer, not by a drain). Fewer there: Kafka (the mock) confirmed records
    // it does not hold, or the writer counted records it never had confirmed.
    for (std::size_t i = 0; i < lives.size(); ++i) {
        if (!lives[i].closed) continue;
        std::uint64_t live = 0;
        for (const Copies& c : copies[i]) {
            live += static_cast<std::uint64_t>(
                std::count_if(c.live.begin(), c.live.end(), [](std::uint16_t n) { return n > 0; }));
        }
        EXPECT_LE(lives[i].delivered, live + implicit_of_life[i])
            << "life " << i << " (closed): its writer counted " << lives[i].delivered
            << " records delivered, but only " << live
            << " of its records are on the topic without the replay header (and "
            << implicit_of_life[i] << " confirmed without an offset are not)";
    }
    EXPECT_EQ(unflagged, 0u) << "records kafka_log sent again without the possibly-duplicate "
                                "flag that are on the topic twice";
    totals.records += published;
    totals.on_topic += records.size();
    totals.in_spool += in_spool;
    totals.lost += lost;
    totals.implicit_acks += implicit_acks;
    totals.duplicates += duplicates;
    totals.flagged += flagged;
    totals.live_twice += live_twice;
    totals.replay_twice += replay_twice;
    totals.unflagged += unflagged;
    line << "records " << published << ", on topic " << records.size() << " (" << flagged_copies
         << " flagged), in spool " << in_spool << " (too large), lost " << lost
         << ", implicitly acknowledged and not on the topic " << implicit_acks << ", duplicates "
         << duplicates << " (flagged " << flagged << ", live twice " << live_twice
         << ", replay twice " << replay_twice << ")";
}

/// Where the lost records went: their ranges, each child's last counters and stderr, and what
/// the copies of the spool taken after each life (kept, under a directory that outlives the run)
/// hold for them.
void explain_loss(const SoakSettings& settings, std::uint64_t cycle, const TempDir& tmp,
                  const std::vector<Life>& lives, const std::vector<LostRecord>& lost) {
    std::ostringstream out;
    out << "  " << lost.size() << " records lost in cycle " << cycle << ":\n";
    print_lost_ranges(out, lost);
    for (std::size_t i = 0; i < lives.size(); ++i) {
        out << "  life " << i << " (" << (lives[i].closed ? "closed" : "killed")
            << "), its last published counters: " << lives[i].last_stats << "\n";
        std::error_code size_error;
        const auto size = fs::file_size(lives[i].stderr_path, size_error);
        std::ifstream in(lives[i].stderr_path, std::ios::binary);
        std::string err(4000, '\0');
        in.read(err.data(), static_cast<std::streamsize>(err.size()));
        err.resize(static_cast<std::size_t>(in.gcount()));
        out << "  life " << i << ", its stderr (" << (size_error ? 0 : size) << " bytes):\n"
            << err << (!size_error && size > err.size() ? "\n  ...\n" : "");
    }
    const fs::path kept =
        fs::temp_directory_path() /
        ("kafka_log_soak-" + std::to_string(settings.seed) + "-cycle-" + std::to_string(cycle));
    std::error_code ec;
    fs::remove_all(kept, ec);
    fs::create_directories(kept, ec);
    auto payload_of = [&lives](const LostRecord& r) {
        return chaos_payload(static_cast<int>(r.life), static_cast<int>(r.thread), r.seq,
                             lives[r.life].plan.big_every, SoakLimits::big_bytes);
    };
    for (std::size_t i = 0; i < lives.size(); ++i) {
        if (lives[i].snapshot.empty()) continue;
        const fs::path to = kept / lives[i].snapshot.filename();
        fs::rename(lives[i].snapshot, to, ec);
        out << "  after life " << i << ":\n";
        print_lost_in_copy(out, ec ? lives[i].snapshot : to, lost, payload_of);
    }
    for (const auto& name : names_in(tmp.path())) {
        if (name.starts_with("stderr-")) fs::copy_file(tmp / name, kept / name, ec);
    }
    out << "  kept: " << kept.string() << "\n";
    std::cout << out.str() << std::flush;
}

/// One cycle: 1–max_lives children on one cluster, topic and spool, then the checks.
void run_cycle(const SoakSettings& settings, std::uint64_t cycle, Totals& totals) {
    const std::uint64_t seed = cycle_seed(settings.seed, cycle);
    std::mt19937_64 rng(seed);
    const int count = std::uniform_int_distribution<int>(1, settings.max_lives)(rng);
    const auto start = clock::now();
    std::cout << "cycle " << cycle << " (seed " << seed << "), " << count << " lives" << std::endl;
    EmbeddedCluster cluster(SoakLimits::brokers);
    const std::string topic = "soak-" + std::to_string(cycle);
    cluster.create_topic(topic, SoakLimits::partitions, SoakLimits::brokers);
    TempDir tmp;
    const fs::path spool_dir = tmp / "spool";
    std::vector<Life> lives;
    for (int run = 0; run < count; ++run) {
        lives.push_back(Life{choose_plan(rng, settings.rate), {}, {}, {}, {}, false, 0, {}});
        if (!settings.faults.empty()) force_faults(lives.back().plan, settings.faults, rng);
        for (const auto& name : faults_of(lives.back().plan)) ++totals.faults[name];
        ++totals.lives;
        run_life(cluster, topic, tmp, spool_dir, settings, run, lives.back());
        if (::testing::Test::HasFatalFailure()) return;
    }
    const fs::path last_offsetless = tmp / "no-offset-last-writer";
    const std::uint64_t replayed =
        drain_with_last_writer(cluster, topic, spool_dir, last_offsetless);
    totals.replayed_last += replayed;
    std::vector<std::string> offsetless = read_offsetless(last_offsetless);
    for (const Life& life : lives)
        offsetless.insert(offsetless.end(), life.offsetless.begin(), life.offsetless.end());
    std::ostringstream line;
    std::vector<LostRecord> lost;
    read_back(cluster, topic, spool_dir, lives, offsetless, totals, line, lost);
    if (!lost.empty()) explain_loss(settings, cycle, tmp, lives, lost);
    ++totals.cycles;
    std::cout << "cycle " << cycle << ": " << line.str() << ", replayed by the last writer "
              << replayed << ", " << std::fixed << std::setprecision(1)
              << std::chrono::duration<double>(clock::now() - start).count() << " s" << std::endl;
}

std::string summary(const Totals& t, const SoakSettings& settings) {
    std::ostringstream out;
    out << "soak: cycles=" << t.cycles << " records=" << t.records << " lost=" << t.lost
        << " implicit_acks=" << t.implicit_acks << " duplicates=" << t.duplicates
        << " (flagged=" << t.flagged << " live_twice=" << t.live_twice
        << " replay_twice=" << t.replay_twice;
    if (t.unflagged > 0) out << " unflagged=" << t.unflagged;
    out << ") faults=";
    const char* comma = "";
    for (const auto& name : fault_names()) {
        const auto it = t.faults.find(name);
        out << comma << name << ":" << (it == t.faults.end() ? 0 : it->second);
        comma = ",";
    }
    out << " seed=" << settings.seed << " minutes=" << settings.minutes;
    return out.str();
}

/// Failures recorded so far in the running test (a cycle that adds one failed).
int failure_parts() {
    return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
}

TEST(SoakTest, RandomFaultsTogetherUnderLoadLoseNothing) {
    SoakSettings settings;
    const char* minutes = std::getenv("KAFKA_LOG_SOAK_MINUTES");
    if (minutes != nullptr && *minutes != '\0') {
        char* end = nullptr;
        settings.minutes = std::strtod(minutes, &end);
        ASSERT_TRUE(*end == '\0' && settings.minutes >= 0)
            << "KAFKA_LOG_SOAK_MINUTES must be a number of minutes, got '" << minutes << "'";
    }
    ASSERT_GT(settings.threads, 0) << "KAFKA_LOG_SOAK_THREADS";
    ASSERT_GT(settings.max_lives, 0) << "KAFKA_LOG_SOAK_LIVES";
    std::cout << "soak: seed " << settings.seed << " (KAFKA_LOG_SOAK_SEED), " << settings.minutes
              << " minutes, from cycle " << settings.first_cycle << std::endl;
    const auto start = clock::now();
    const auto budget = std::chrono::duration<double, std::ratio<60>>(settings.minutes);
    Totals totals;
    std::uint64_t failed_cycles = 0;
    for (std::uint64_t cycle = settings.first_cycle;
         clock::now() - start < budget &&
         (settings.cycles == 0 || cycle < settings.first_cycle + settings.cycles);
         ++cycle) {
        const int parts_before = failure_parts();
        run_cycle(settings, cycle, totals);
        if (failure_parts() == parts_before) continue;
        ++failed_cycles;
        std::cout << "soak: cycle " << cycle
                  << " failed; replay it with KAFKA_LOG_SOAK_SEED=" << settings.seed
                  << " KAFKA_LOG_SOAK_FIRST_CYCLE=" << cycle << " KAFKA_LOG_SOAK_CYCLES=1"
                  << std::endl;
        if (HasFatalFailure()) break;  // a child died by itself or a check could not run: stop
    }
    std::cout << "soak: " << totals.lives << " lives in " << totals.cycles << " cycles ("
              << failed_cycles << " failed), " << totals.on_topic << " records on the topics, "
              << totals.in_spool << " too large in the spools, " << totals.replayed_last
              << " replayed by the last writers, " << std::fixed << std::setprecision(1)
              << std::chrono::duration<double>(clock::now() - start).count() / 60 << " minutes"
              << std::endl;
    std::cout << summary(totals, settings) << std::endl;
    EXPECT_EQ(totals.lost, 0u);
    EXPECT_EQ(totals.unflagged, 0u);
}

}  // namespace
}  // namespace kafka_log::test
