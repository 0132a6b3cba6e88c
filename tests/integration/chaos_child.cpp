// SPDX-License-Identifier: Apache-2.0
// kafka_log_chaos_child: the process kill_chaos_test and the soak (soak_test.cpp) SIGKILL or
// close. It logs under load through a KafkaWriter whose fallback is a SpoolFallback with the
// journal on, and after each `write` returns it publishes how many records of its thread have
// returned, in a MAP_SHARED mapping of a file the test reads. It never stops by itself: the test
// kills it, or (with --stats) asks it to close with SIGUSR1 (a parent that dies takes it along,
// and a bound of five minutes ends a forgotten one).
//
//   kafka_log_chaos_child <bootstrap> <topic> <spool-dir> <run> <counts-file> <threads>
//       [--rate <records/s, all threads; 0: as fast as possible>] [--no-journal]
//       [--message-timeout-ms N (3000)] [--queue-messages N] [--message-max-bytes N]
//       [--big-every N --big-bytes B] [--stats <file> [--close-timeout-ms N (1000)]]
//
// Payloads: chaos_payload.hpp (`run=07 thread=1 seq=000123`, no key; with --big-every, every
// N-th record of a thread is B bytes long). Counts file: one std::uint64_t per thread, 64 bytes
// apart (slot t at offset 64 * t), holding seq + 1 of the last record whose `write` returned;
// the file must exist and be at least 64 * threads bytes. When it is as large as
// chaos_counts_bytes(threads), the child also publishes its writer's, spool's and drain's
// counters there every 50 ms (chaos_stats.hpp): a killed child's last figures. Records
// librdkafka confirmed without an offset are listed in `<counts-file>.no-offset`
// (offsetless_confirmations.hpp).
// --stats: on SIGUSR1 the writer is closed (`close(--close-timeout-ms)`) while the logging
// threads go on writing (1000 records each at most); then they stop, the writer is destroyed, and
// one line `published=N submitted=N delivered=N ...` (every WriterStats bucket) is written to the
// file (whole: written aside, then renamed), and the process exits 0. Exit codes: 0 closed on
// SIGUSR1, 2 bad arguments or set-up, 3 the bound passed, 4 the stats file could not be written.

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "chaos_payload.hpp"
#include "chaos_stats.hpp"
#include "kafka_log/kafka_writer.hpp"
#include "kafka_log/producer_config.hpp"
#include "kafka_log/rdkafka_producer.hpp"
#include "kafka_log/spool_drain.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "offsetless_confirmations.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::size_t slot_stride = 64;  // one cache line per thread's count
constexpr auto lifetime_bound = 300s;    // a child nobody killed ends here
// Records a thread writes once a clean close began (it then stops): a thread at full speed would
// otherwise fill the spool with millions of records while the close waits for Kafka.
constexpr std::uint64_t writes_after_close = 1000;

struct Arguments {
    std::string bootstrap;
    std::string topic;
    std::string spool_dir;
    int run = 0;
    std::string counts_file;
    int threads = 0;
    double rate = 0;
    bool journal = true;
    long message_timeout_ms = 3000;
    long queue_messages = 0;     // 0: the producer's default
    long message_max_bytes = 0;  // 0: librdkafka's default
    std::uint64_t big_every = 0;
    std::size_t big_bytes = 0;
    std::string stats_file;  // non-empty: SIGUSR1 closes cleanly
    long close_timeout_ms = 1000;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "kafka_log_chaos_child: %s\nusage: kafka_log_chaos_child <bootstrap> <topic> "
                 "<spool-dir> <run> "
                 "<counts-file> <threads> [--rate N] [--no-journal] [--message-timeout-ms N] "
                 "[--queue-messages N] [--message-max-bytes N] [--big-every N --big-bytes B] "
                 "[--stats FILE [--close-timeout-ms N]]\n",
                 why);
    std::_Exit(2);
}

Arguments parse(int argc, char** argv) {
    if (argc < 7) usage("too few arguments");
    Arguments a;
    a.bootstrap = argv[1];
    a.topic = argv[2];
    a.spool_dir = argv[3];
    a.run = std::atoi(argv[4]);
    a.counts_file = argv[5];
    a.threads = std::atoi(argv[6]);
    if (a.threads < 1 || a.threads > 64) usage("threads must be 1..64");
    for (int i = 7; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--no-journal") {
            a.journal = false;
        } else if (!has_value) {
            usage("unknown argument, or an option without its value");
        } else if (arg == "--rate") {
            a.rate = std::atof(argv[++i]);
        } else if (arg == "--message-timeout-ms") {
            a.message_timeout_ms = std::atol(argv[++i]);
        } else if (arg == "--queue-messages") {
            a.queue_messages = std::atol(argv[++i]);
        } else if (arg == "--message-max-bytes") {
            a.message_max_bytes = std::atol(argv[++i]);
        } else if (arg == "--big-every") {
            a.big_every = std::strtoull(argv[++i], nullptr, 10);
        } else if (arg == "--big-bytes") {
            a.big_bytes = std::strtoull(argv[++i], nullptr, 10);
        } else if (arg == "--stats") {
            a.stats_file = argv[++i];
        } else if (arg == "--close-timeout-ms") {
            a.close_timeout_ms = std::atol(argv[++i]);
        } else {
            usage("unknown argument");
        }
    }
    if (a.message_timeout_ms < 1) usage("--message-timeout-ms must be positive");
    if (a.big_every > 0 && a.big_bytes < 64) usage("--big-every needs --big-bytes of 64 or more");
    return a;
}

/// The counts file, mapped shared: what this process stores there survives its SIGKILL.
/// `published` is set to where the counters go, or null when the file has no room for them.
std::uint64_t* map_counts(const std::string& path, int threads, std::uint64_t*& published) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) usage("cannot open the counts file");
    struct stat st {};
    const bool room = ::fstat(fd, &st) == 0 && static_cast<std::size_t>(st.st_size) >=
                                                   kafka_log::test::chaos_counts_bytes(threads);
    const std::size_t bytes = room ? kafka_log::test::chaos_counts_bytes(threads)
                                   : slot_stride * static_cast<std::size_t>(threads);
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) usage("cannot map the counts file");
    published = room ? static_cast<std::uint64_t*>(p) +
                           kafka_log::test::chaos_stats_offset(threads) / sizeof(std::uint64_t)
                     : nullptr;
    return static_cast<std::uint64_t*>(p);
}

/// Stores the writer's, spool's and drain's counters into `out` (chaos_stat_names' order),
/// `updates` last.
void publish_stats(const kafka_log::KafkaWriter& writer, const kafka_log::SpoolFallback& spool,
                   std::uint64_t* out) {
    const kafka_log::WriterStats w = writer.stats();
    const kafka_log::SpoolStats s = spool.stats();
    const kafka_log::SpoolDrainStats d = writer.drain_stats();
    const std::uint64_t values[] = {w.submitted,
                                    w.delivered,
                                    w.in_flight,
                                    w.lost,
                                    w.fallback_queue_full,
                                    w.fallback_too_large,
                                    w.fallback_delivery_failed,
                                    w.fallback_closed,
                                    w.fallback_unreachable,
                                    w.fallback_reentrant,
                                    w.possibly_persisted,
                                    w.spooled,
                                    w.journal_open,
                                    w.replayed,
                                    w.replay_failures,
                                    w.breaker_open ? 1u : 0u,
                                    s.records,
                                    s.refused_full,
                                    s.refused_error,
                                    s.lost_after_write,
                                    s.segments,
                                    s.replayed,
                                    s.found,
                                    s.journaled,
                                    s.settled,
                                    s.journal_refused,
                                    d.in_flight,
                                    d.corrupt,
                                    d.segments_deleted,
                                    d.passes};
    static_assert(std::size(values) + 1 == kafka_log::test::chaos_stat_names.size());
    for (std::size_t i = 0; i < std::size(values); ++i) {
        std::atomic_ref<std::uint64_t>(out[i + 1]).store(values[i], std::memory_order_relaxed);
    }
    std::atomic_ref<std::uint64_t>(out[0]).fetch_add(1, std::memory_order_release);
}

/// One logging thread: writes as fast as allowed and publishes each returned record, until
/// the process ends, or `writes_after_close` records after `closing` was set.
void log_loop(kafka_log::KafkaWriter& writer, const Arguments& args, int thread,
              double per_thread_rate, std::uint64_t& published_slot,
              const std::atomic<bool>& closing) {
    using kafka_log::test::chaos_big_payload;
    std::atomic_ref<std::uint64_t> published(published_slot);
    const auto start = std::chrono::steady_clock::now();
    const auto period = per_thread_rate > 0 ? std::chrono::duration<double>(1.0 / per_thread_rate)
                                            : std::chrono::duration<double>::zero();
    char payload[64];
    std::uint64_t after_close = 0;
    for (std::uint64_t seq = 0;; ++seq) {
        if (closing.load(std::memory_order_relaxed) && ++after_close > writes_after_close) return;
        if (period.count() > 0 && seq % 32 == 0) {
            // Pacing (the load's own rate, not a wait for the code under test).
            std::this_thread::sleep_until(
                start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            period * static_cast<double>(seq)));
        }
        const std::size_t n =
            kafka_log::test::chaos_short_payload(payload, sizeof payload, args.run, thread, seq);
        if (kafka_log::test::chaos_is_big(seq, args.big_every)) {
            writer.write(chaos_big_payload(std::string_view(payload, n), args.big_bytes));
        } else {
            writer.write(std::string_view(payload, n));
        }
        published.store(seq + 1, std::memory_order_release);
    }
}

/// Writes the closed writer's counters to `path` (aside first, then renamed): one line.
bool write_stats(const std::string& path, std::uint64_t published,
                 const kafka_log::WriterStats& s) {
    const std::string aside = path + ".part";
    std::FILE* out = std::fopen(aside.c_str(), "w");
    if (out == nullptr) return false;
    auto n = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
    const int written = std::fprintf(
        out,
        "published=%llu submitted=%llu delivered=%llu in_flight=%llu lost=%llu "
        "fallback_queue_full=%llu fallback_too_large=%llu fallback_delivery_failed=%llu "
        "fallback_closed=%llu fallback_unreachable=%llu fallback_reentrant=%llu "
        "possibly_persisted=%llu\n",
        n(published), n(s.submitted), n(s.delivered), n(s.in_flight), n(s.lost),
        n(s.fallback_queue_full), n(s.fallback_too_large), n(s.fallback_delivery_failed),
        n(s.fallback_closed), n(s.fallback_unreachable), n(s.fallback_reentrant),
        n(s.possibly_persisted));
    const bool closed = std::fclose(out) == 0;
    return written > 0 && closed && std::rename(aside.c_str(), path.c_str()) == 0;
}

/// Waits for SIGUSR1 (blocked in every thread) up to the lifetime bound; true when it came.
bool wait_for_close_signal() {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    const auto end = std::chrono::steady_clock::now() + lifetime_bound;
    for (;;) {
        const auto left = end - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) return false;
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
        const timespec timeout{static_cast<time_t>(seconds.count()),
                               static_cast<long>(std::chrono::nanoseconds(left - seconds).count())};
        if (::sigtimedwait(&usr1, nullptr, &timeout) == SIGUSR1) return true;
        if (errno != EINTR && errno != EAGAIN) return false;
    }
}

}  // namespace

int main(int argc, char** argv) {
    // Dies with the test process; checked once more in case the parent died before the prctl.
    const pid_t parent = ::getppid();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) return 2;
    // SIGUSR1 (a clean close) is taken by the main thread alone: blocked before any thread starts.
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ::pthread_sigmask(SIG_BLOCK, &usr1, nullptr);

    const Arguments args = parse(argc, argv);
    std::uint64_t* published_stats = nullptr;
    std::uint64_t* counts = map_counts(args.counts_file, args.threads, published_stats);
    try {
        // As integration_support.hpp's test_config: short back-offs, a finite message timeout.
        kafka_log::ProducerConfig config{
            {"bootstrap.servers", args.bootstrap},
            {"reconnect.backoff.ms", "50"},
            {"reconnect.backoff.max.ms", "500"},
            {"retry.backoff.ms", "50"},
            {"message.timeout.ms", std::to_string(args.message_timeout_ms)}};
        if (args.queue_messages > 0)
            config.set("queue.buffering.max.messages", std::to_string(args.queue_messages));
        if (args.message_max_bytes > 0)
            config.set("message.max.bytes", std::to_string(args.message_max_bytes));
        // Records confirmed without an offset go to `<counts-file>.no-offset`
        // (offsetless_confirmations.hpp): the mock may not hold them.
        auto producer = std::make_shared<kafka_log::test::OffsetlessRecorder>(
            std::make_shared<kafka_log::RdKafkaProducer>(std::move(config)),
            args.counts_file + ".no-offset");
        kafka_log::SpoolOptions spool_options;
        spool_options.segment_bytes = std::uint64_t{1}
                                      << 20;  // many segments: seals and deletes under fire
        spool_options.journal = args.journal;
        auto spool = std::make_shared<kafka_log::SpoolFallback>(args.spool_dir, spool_options);
        kafka_log::WriterOptions writer_options;
        writer_options.topic = args.topic;
        // Destroyed only after a clean close; otherwise the process ends by SIGKILL (or _Exit).
        auto* writer = new kafka_log::KafkaWriter(producer, spool, writer_options);

        const double per_thread_rate = args.rate > 0 ? args.rate / args.threads : 0;
        std::atomic<bool> closing{false};
        std::vector<std::thread> threads;
        for (int t = 0; t < args.threads; ++t) {
            std::uint64_t& slot =
                counts[static_cast<std::size_t>(t) * (slot_stride / sizeof(std::uint64_t))];
            threads.emplace_back([writer, &args, t, per_thread_rate, &slot, &closing] {
                log_loop(*writer, args, t, per_thread_rate, slot, closing);
            });
        }
        // Every 50 ms, the counters into the counts file (the pacing of a report, not a wait for
        // the code under test).
        std::atomic<bool> stop_publishing{false};
        std::thread publisher;
        if (published_stats != nullptr) {
            publisher = std::thread([&] {
                while (!stop_publishing.load(std::memory_order_relaxed)) {
                    publish_stats(*writer, *spool, published_stats);
                    std::this_thread::sleep_for(50ms);
                }
            });
        }
        // The test kills this process long before the bound, or asks it to close.
        while (wait_for_close_signal()) {
            if (args.stats_file.empty()) continue;  // closing is not asked of this run
            stop_publishing.store(true, std::memory_order_relaxed);
            if (publisher.joinable()) publisher.join();
            closing.store(true, std::memory_order_relaxed);
            writer->close(std::chrono::milliseconds(args.close_timeout_ms));  // threads still write
            for (auto& thread : threads) thread.join();
            std::uint64_t published = 0;
            for (int t = 0; t < args.threads; ++t)
                published += counts[static_cast<std::size_t>(t) * (slot_stride / 8)];
            const kafka_log::WriterStats stats = writer->stats();
            if (published_stats != nullptr) publish_stats(*writer, *spool, published_stats);
            delete writer;
            spool.reset();
            producer.reset();
            return write_stats(args.stats_file, published, stats) ? 0 : 4;
        }
        std::fprintf(stderr, "kafka_log_chaos_child: run %d was not killed within %lld s\n",
                     args.run, static_cast<long long>(lifetime_bound.count()));
        std::_Exit(3);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kafka_log_chaos_child: set-up failed: %s\n", e.what());
        std::_Exit(2);
    }
}
