// SPDX-License-Identifier: Apache-2.0
// Kill chaos: a child process (kafka_log_chaos_child) logs under load with the spool's journal
// on and is SIGKILLed at a random moment, again and again, with the cluster up, down, or
// flapping. Each new child is a new writer on the same spool: its drain replays what the killed
// ones left. At the end a writer in this process drains the rest, and the topic is read back:
// every record whose `write` returned (the child publishes the count through a shared mapping)
// is on the topic; a record that kafka_log sent again is flagged
// `kafka_log.replayed: possibly-duplicate` unless no other copy of it is there; nothing unknown
// is there; the spool is empty.
//
// Copies that are all live (no replay header) are the producer's retries: the mock cluster does
// not keep idempotence across a broker going down and up (a plain idempotent RdKafkaProducer,
// every report a success, 300 000 records under the flapper: 0 to ~1 % twice on the topic).
// They are counted in the summary ("live twice"), not failed: a real broker de-duplicates them.
//
// Knobs (environment; `KAFKA_LOG_CHAOS_KILLS=500 bash ci/soak.sh 0` runs it longer):
//   KAFKA_LOG_CHAOS_KILLS        kills in all (default 20)
//   KAFKA_LOG_CHAOS_ROUND        kills per round (default 20): each round has its own cluster,
//                                topic and spool and ends with the read-back and the checks
//                                (the mock cluster keeps only ~5 MiB per partition)
//   KAFKA_LOG_CHAOS_SEED         seed of the kill points (default: random; printed)
//   KAFKA_LOG_CHAOS_MIN_RECORDS  a kill comes once at least this many records returned (1000)
//   KAFKA_LOG_CHAOS_MAX_RECORDS  ... and at most this many (60000; log-uniform in between)
//   KAFKA_LOG_CHAOS_RATE         records/s of a child, all threads (20000; every 4th run: flat out)
//   KAFKA_LOG_CHAOS_THREADS      logging threads of a child (2)
//   KAFKA_LOG_CHAOS_NO_JOURNAL   1: children run without the journal (the test must then fail)
//
// The child runs as its own program (posix_spawn): this threaded process never forks to run
// library code. Waits are conditions with deadlines; the flapper's sleeps are the fault's timing.

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "chaos_support.hpp"
#include "integration_support.hpp"
#include "kafka_log/spool_drain.hpp"
#include "kafka_log/spool_fallback.hpp"

namespace kafka_log::test {
namespace {

namespace fs = std::filesystem;

constexpr int partitions = 16;  // room for the volume (the mock keeps ~5 MiB a partition)

struct Settings {
    int kills = static_cast<int>(env_number("KAFKA_LOG_CHAOS_KILLS", 20));
    int round = static_cast<int>(env_number("KAFKA_LOG_CHAOS_ROUND", 20));
    std::uint64_t seed = env_number("KAFKA_LOG_CHAOS_SEED", std::random_device{}());
    std::uint64_t min_records = env_number("KAFKA_LOG_CHAOS_MIN_RECORDS", 1000);
    std::uint64_t max_records = env_number("KAFKA_LOG_CHAOS_MAX_RECORDS", 60000);
    std::uint64_t rate = env_number("KAFKA_LOG_CHAOS_RATE", 20000);
    int threads = static_cast<int>(env_number("KAFKA_LOG_CHAOS_THREADS", 2));
    bool journal = env_number("KAFKA_LOG_CHAOS_NO_JOURNAL", 0) == 0;
};

enum class Mode { up, down, flapping };
const char* name_of(Mode m) {
    switch (m) {
        case Mode::up:
            return "up";
        case Mode::down:
            return "down";
        case Mode::flapping:
            return "flapping";
    }
    return "?";
}

/// Takes broker 1 down and up every 150–250 ms until stopped, then leaves it up.
class Flapper {
public:
    Flapper(EmbeddedCluster& cluster, std::uint64_t seed)
        : thread_([this, &cluster, seed] {
              std::mt19937_64 rng(seed);
              std::uniform_int_distribution<int> pause_ms(150, 250);
              bool down = false;
              std::unique_lock lock(mutex_);
              while (!stop_) {
                  down = !down;
                  if (down) {
                      cluster.set_broker_down(1);
                  } else {
                      cluster.set_broker_up(1);
                  }
                  ++toggles_;
                  // The fault's own timing, not a wait for the code under test.
                  wake_.wait_for(lock, std::chrono::milliseconds(pause_ms(rng)),
                                 [this] { return stop_; });
              }
              cluster.set_broker_up(1);
          }) {}
    ~Flapper() { stop(); }
    Flapper(const Flapper&) = delete;
    Flapper& operator=(const Flapper&) = delete;

    int stop() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
        return toggles_;
    }

private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    int toggles_ = 0;
    std::thread thread_;
};

/// What a round measured, for the summary line.
struct Figures {
    std::uint64_t published = 0;       // records whose write returned and was published
    std::uint64_t on_topic = 0;        // records read back
    std::uint64_t duplicates = 0;      // copies beyond the first of a record
    std::uint64_t flagged = 0;         // copies on the topic flagged possibly-duplicate
    std::uint64_t live = 0;            // copies on the topic without the replay header (sent live)
    std::uint64_t live_twice = 0;      // extra live copies of a record (the broker's, see above)
    std::uint64_t lost = 0;            // published records not on the topic
    std::uint64_t final_replayed = 0;  // records the last writer replayed
    std::array<int, 3> kills{};        // per Mode
};

/// One round: `kills` children on one cluster, topic and spool, then the final drain and checks.
void run_round(const Settings& settings, int round, int first_run, int kills, std::mt19937_64& rng,
               Figures& figures) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic() + "-" + std::to_string(round);
    cluster.create_topic(topic, partitions, 1);
    TempDir tmp;
    const fs::path spool_dir = tmp / "spool";

    std::vector<std::vector<std::uint64_t>> published(static_cast<std::size_t>(kills));
    const double log_min = std::log(static_cast<double>(settings.min_records));
    const double log_max =
        std::log(static_cast<double>(std::max(settings.max_records, settings.min_records)));
    std::uniform_real_distribution<double> log_threshold(log_min, log_max);

    for (int i = 0; i < kills; ++i) {
        const int run = first_run + i;
        const Mode mode = static_cast<Mode>(run % 3);
        const auto threshold = static_cast<std::uint64_t>(std::exp(log_threshold(rng)));
        const std::uint64_t rate = run % 4 == 3 ? 0 : settings.rate;  // every 4th run flat out
        const fs::path counts_path = tmp / ("counts-" + std::to_string(run));
        const fs::path stderr_path = tmp / ("stderr-" + std::to_string(run));
        SharedCounts counts(counts_path, settings.threads);

        if (mode == Mode::down) cluster.set_broker_down(1);
        std::vector<std::string> args{cluster.bootstrap_servers(),
                                      topic,
                                      spool_dir.string(),
                                      std::to_string(run),
                                      counts_path.string(),
                                      std::to_string(settings.threads),
                                      "--rate",
                                      std::to_string(rate)};
        if (!settings.journal) args.emplace_back("--no-journal");
        Child child(args, stderr_path);
        std::unique_ptr<Flapper> flapper;
        if (mode == Mode::flapping) flapper = std::make_unique<Flapper>(cluster, rng());
        const bool reached =
            wait_until([&] { return counts.total() >= threshold || !child.running(); }, 60s);
        const bool alive = child.running();
        child.kill_and_reap();
        if (flapper) flapper->stop();
        if (mode == Mode::down) cluster.set_broker_up(1);
        ++figures.kills[static_cast<std::size_t>(mode)];

        auto& mine = published[static_cast<std::size_t>(i)];
        for (int t = 0; t < settings.threads; ++t) mine.push_back(counts.of(t));
        ASSERT_TRUE(reached && alive)
            << "run " << run << " (" << name_of(mode) << "): "
            << (alive ? "threshold not reached within 60 s"
                      : "the child ended by itself, status " + std::to_string(child.status()))
            << "; published " << counts.total() << " of " << threshold << "; its stderr:\n"
            << read_text(stderr_path);
        std::cout << "  run " << run << " " << name_of(mode) << " rate " << rate
                  << ": killed after " << counts.total() << " records\n";
    }

    // The last writer: the cluster up, the same spool, the journal on; it drains the rest.
    ClientLog client_log;
    WriterStats stats;
    SpoolDrainStats drain;
    {
        auto producer =
            std::make_shared<RdKafkaProducer>(test_config(cluster), client_log.options());
        auto spool = std::make_shared<SpoolFallback>(
            spool_dir,
            SpoolOptions{.segment_bytes = 1 << 20, .replay_rate = 200000, .journal = true});
        KafkaWriter writer(producer, spool, WriterOptions{.topic = topic});
        const bool drained = wait_until([&] { return segments_in(spool_dir) == 0; }, 60s);
        EXPECT_TRUE(drained) << segments_in(spool_dir)
                             << " segment files left after 60 s; drain: replayed "
                             << writer.drain_stats().replayed << ", failures "
                             << writer.drain_stats().failures;
        writer.close(5s);
        stats = writer.stats();
        drain = writer.drain_stats();
    }
    EXPECT_TRUE(Balanced(stats));
    EXPECT_EQ(stats.lost, 0u);
    EXPECT_EQ(stats.in_flight, 0u);
    EXPECT_EQ(drain.corrupt, 0u) << "the drain met corrupt stretches";
    figures.final_replayed += drain.replayed;
    for (const auto& name : names_in(spool_dir)) {
        EXPECT_FALSE(is_segment(name)) << "left in the spool: " << name;
        EXPECT_FALSE(name.ends_with(".corrupt")) << "left in the spool: " << name;
    }

    // The topic, read back completely (the mock's retention must not have dropped anything).
    const std::vector<TopicRecord> records = cluster.read_all(topic, 60s);
    ASSERT_EQ(records.size(), cluster.message_count(topic))
        << "the mock cluster dropped old records (retention): more partitions needed";

    // copies[i][t][seq]; of those, copies not flagged possibly-duplicate, and replayed ones
    // among them (header `1`: sent again as a record known not to be on Kafka).
    struct Copies {
        std::vector<std::uint16_t> all, unflagged, plain_replays;
    };
    std::vector<std::vector<Copies>> copies(static_cast<std::size_t>(kills));
    for (int i = 0; i < kills; ++i) {
        for (int t = 0; t < settings.threads; ++t) {
            // seq == published may be on the topic: its write returned, the store did not happen.
            const std::size_t size =
                published[static_cast<std::size_t>(i)][static_cast<std::size_t>(t)] + 1;
            copies[static_cast<std::size_t>(i)].push_back(Copies{std::vector<std::uint16_t>(size),
                                                                 std::vector<std::uint16_t>(size),
                                                                 std::vector<std::uint16_t>(size)});
        }
    }
    std::uint64_t unknown = 0;
    for (const TopicRecord& r : records) {
        int run = -1;
        int thread = -1;
        unsigned long long seq = 0;
        char again[64];
        const bool parsed =
            std::sscanf(r.payload.c_str(), "run=%d thread=%d seq=%llu", &run, &thread, &seq) == 3 &&
            std::snprintf(again, sizeof again, "run=%02d thread=%d seq=%06llu", run, thread, seq) >
                0 &&
            r.payload == again;
        const int i = run - first_run;
        if (!parsed || i < 0 || i >= kills || thread < 0 || thread >= settings.threads ||
            seq >=
                copies[static_cast<std::size_t>(i)][static_cast<std::size_t>(thread)].all.size()) {
            if (++unknown <= 5)
                ADD_FAILURE() << "unknown record on the topic: '" << r.payload << "'";
            continue;
        }
        Copies& c = copies[static_cast<std::size_t>(i)][static_cast<std::size_t>(thread)];
        const std::string* replayed = r.header(replayed_header);
        const bool flagged = replayed != nullptr && *replayed == "possibly-duplicate";
        ++c.all[seq];
        if (replayed == nullptr) ++figures.live;
        if (!flagged) ++c.unflagged[seq];
        if (replayed != nullptr && !flagged) ++c.plain_replays[seq];
        if (flagged) ++figures.flagged;
    }
    EXPECT_EQ(unknown, 0u) << "records on the topic that no child wrote";

    std::uint64_t lost = 0;
    std::uint64_t unflagged_duplicates = 0;
    for (int i = 0; i < kills; ++i) {
        for (int t = 0; t < settings.threads; ++t) {
            const Copies& c = copies[static_cast<std::size_t>(i)][static_cast<std::size_t>(t)];
            const std::uint64_t returned =
                published[static_cast<std::size_t>(i)][static_cast<std::size_t>(t)];
            figures.published += returned;
            for (std::size_t seq = 0; seq < c.all.size(); ++seq) {
                if (c.all[seq] > 1) figures.duplicates += c.all[seq] - 1u;
                if (c.unflagged[seq] > 1 && c.plain_replays[seq] == 0) {
                    figures.live_twice += c.unflagged[seq] - 1u;  // the broker's (see the top)
                } else if (c.unflagged[seq] > 1 && ++unflagged_duplicates <= 5) {
                    ADD_FAILURE() << "run " << first_run + i << " thread " << t << " seq " << seq
                                  << ": " << c.all[seq] << " copies, " << c.unflagged[seq]
                                  << " not flagged possibly-duplicate, " << c.plain_replays[seq]
                                  << " of them sent again by kafka_log";
                }
                if (seq < returned && c.all[seq] == 0 && ++lost <= 5) {
                    ADD_FAILURE() << "lost: run " << first_run + i << " thread " << t << " seq "
                                  << seq << " (its write returned; " << returned
                                  << " returned in that thread)";
                }
            }
        }
    }
    figures.lost += lost;
    figures.on_topic += records.size();
    EXPECT_EQ(lost, 0u) << "records whose write returned that are not on the topic";
    EXPECT_EQ(unflagged_duplicates, 0u) << "records kafka_log sent again without the "
                                           "possibly-duplicate flag that are on the topic twice";
    if (unflagged_duplicates > 0) {
        // Where each copy of the first of them is, and how it got there (live: no header).
        std::string first;
        for (int i = 0; i < kills && first.empty(); ++i) {
            for (int t = 0; t < settings.threads && first.empty(); ++t) {
                const Copies& c = copies[static_cast<std::size_t>(i)][static_cast<std::size_t>(t)];
                for (std::size_t seq = 0; seq < c.all.size() && first.empty(); ++seq) {
                    if (c.unflagged[seq] > 1 && c.plain_replays[seq] > 0) {
                        char text[64];
                        std::snprintf(text, sizeof text, "run=%02d thread=%d seq=%06llu",
                                      first_run + i, t, static_cast<unsigned long long>(seq));
                        first = text;
                    }
                }
            }
        }
        for (const TopicRecord& r : records) {
            if (r.payload != first) continue;
            const std::string* replayed = r.header(replayed_header);
            const std::string* id = r.header(replay_id_header);
            std::cout << "  copy of '" << first << "': partition " << r.partition << " offset "
                      << r.offset << " timestamp " << r.timestamp_ms << ", "
                      << (replayed == nullptr ? std::string("live")
                                              : "replayed " + *replayed + " id " + *id)
                      << "\n";
        }
    }
    if (::testing::Test::HasFailure()) {
        for (const auto& line : client_log.lines())
            std::cerr << "  librdkafka (last writer): " << line << "\n";
    }
}

TEST(KillChaosTest, EveryRecordWhoseWriteReturnedReachesTheTopicAfterTwentyKills) {
    const Settings settings;
    ASSERT_GT(settings.kills, 0);
    ASSERT_GT(settings.round, 0);
    ASSERT_GT(settings.min_records, 0u);
    std::cout << "chaos: seed " << settings.seed << " (KAFKA_LOG_CHAOS_SEED), " << settings.kills
              << " kills, journal " << (settings.journal ? "on" : "OFF") << "\n";
    std::mt19937_64 rng(settings.seed);
    const auto start = std::chrono::steady_clock::now();
    Figures figures;
    for (int done = 0, round = 0; done < settings.kills; ++round) {
        const int kills = std::min(settings.round, settings.kills - done);
        run_round(settings, round, done, kills, rng, figures);
        done += kills;
        if (HasFatalFailure()) break;
    }
    const auto seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "chaos summary: seed " << settings.seed << ", journal "
              << (settings.journal ? "on" : "OFF") << ", kills "
              << figures.kills[0] + figures.kills[1] + figures.kills[2] << " (up "
              << figures.kills[0] << ", down " << figures.kills[1] << ", flapping "
              << figures.kills[2] << "), published " << figures.published << ", on topic "
              << figures.on_topic << ", duplicates " << figures.duplicates << " (live twice "
              << figures.live_twice << ")"
              << ", copies flagged possibly-duplicate " << figures.flagged
              << ", replayed by the last writer " << figures.final_replayed << ", lost "
              << figures.lost << ", " << seconds << " s\n";
}

}  // namespace
}  // namespace kafka_log::test
