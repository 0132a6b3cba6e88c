// SPDX-License-Identifier: Apache-2.0
// kafka_log_chaos_child: the process kill_chaos_test SIGKILLs. It logs under load through a
// KafkaWriter whose fallback is a SpoolFallback with the journal on, and after each `write`
// returns it publishes how many records of its thread have returned, in a MAP_SHARED mapping of
// a file the test reads. It never stops by itself: the test kills it (a parent that dies takes
// it along, and a bound of five minutes ends a forgotten one).
//
//   kafka_log_chaos_child <bootstrap> <topic> <spool-dir> <run> <counts-file> <threads>
//                         [--rate <records/s, all threads; 0: as fast as possible>] [--no-journal]
//
// Payloads: `run=07 thread=1 seq=000123`, no key. Counts file: one std::uint64_t per thread,
// 64 bytes apart (slot t at offset 64 * t), holding seq + 1 of the last record whose `write`
// returned; the file must exist and be at least 64 * threads bytes.
// Exit codes (never reached in a normal run): 2 bad arguments or set-up, 3 the bound passed.

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
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

#include "kafka_log/kafka_writer.hpp"
#include "kafka_log/producer_config.hpp"
#include "kafka_log/rdkafka_producer.hpp"
#include "kafka_log/spool_fallback.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::size_t slot_stride = 64;  // one cache line per thread's count
constexpr auto lifetime_bound = 300s;    // a child nobody killed ends here

struct Arguments {
    std::string bootstrap;
    std::string topic;
    std::string spool_dir;
    int run = 0;
    std::string counts_file;
    int threads = 0;
    double rate = 0;
    bool journal = true;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "kafka_log_chaos_child: %s\nusage: kafka_log_chaos_child <bootstrap> <topic> "
                 "<spool-dir> <run> "
                 "<counts-file> <threads> [--rate N] [--no-journal]\n",
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
        if (arg == "--no-journal") {
            a.journal = false;
        } else if (arg == "--rate" && i + 1 < argc) {
            a.rate = std::atof(argv[++i]);
        } else {
            usage("unknown argument");
        }
    }
    return a;
}

/// The counts file, mapped shared: what this process stores there survives its SIGKILL.
std::uint64_t* map_counts(const std::string& path, int threads) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) usage("cannot open the counts file");
    const std::size_t bytes = slot_stride * static_cast<std::size_t>(threads);
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) usage("cannot map the counts file");
    return static_cast<std::uint64_t*>(p);
}

/// One logging thread: writes as fast as allowed and publishes each returned record.
void log_loop(kafka_log::KafkaWriter& writer, int run, int thread, double per_thread_rate,
              std::uint64_t& published_slot) {
    std::atomic_ref<std::uint64_t> published(published_slot);
    const auto start = std::chrono::steady_clock::now();
    const auto period = per_thread_rate > 0 ? std::chrono::duration<double>(1.0 / per_thread_rate)
                                            : std::chrono::duration<double>::zero();
    char payload[64];
    for (std::uint64_t seq = 0;; ++seq) {
        if (period.count() > 0 && seq % 32 == 0) {
            // Pacing (the load's own rate, not a wait for the code under test).
            std::this_thread::sleep_until(
                start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            period * static_cast<double>(seq)));
        }
        const int n = std::snprintf(payload, sizeof payload, "run=%02d thread=%d seq=%06llu", run,
                                    thread, static_cast<unsigned long long>(seq));
        writer.write(std::string_view(payload, static_cast<std::size_t>(n)));
        published.store(seq + 1, std::memory_order_release);
    }
}

}  // namespace

int main(int argc, char** argv) {
    // Dies with the test process; checked once more in case the parent died before the prctl.
    const pid_t parent = ::getppid();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) return 2;

    const Arguments args = parse(argc, argv);
    std::uint64_t* counts = map_counts(args.counts_file, args.threads);
    try {
        // As integration_support.hpp's test_config: short back-offs, a finite message timeout.
        kafka_log::ProducerConfig config{{"bootstrap.servers", args.bootstrap},
                                         {"reconnect.backoff.ms", "50"},
                                         {"reconnect.backoff.max.ms", "500"},
                                         {"retry.backoff.ms", "50"},
                                         {"message.timeout.ms", "3000"}};
        auto producer = std::make_shared<kafka_log::RdKafkaProducer>(std::move(config));
        kafka_log::SpoolOptions spool_options;
        spool_options.segment_bytes = std::uint64_t{1}
                                      << 20;  // many segments: seals and deletes under fire
        spool_options.journal = args.journal;
        auto spool = std::make_shared<kafka_log::SpoolFallback>(args.spool_dir, spool_options);
        kafka_log::WriterOptions writer_options;
        writer_options.topic = args.topic;
        // Never destroyed: the process ends by SIGKILL (or _Exit), never through a close.
        auto* writer = new kafka_log::KafkaWriter(producer, spool, writer_options);

        const double per_thread_rate = args.rate > 0 ? args.rate / args.threads : 0;
        std::vector<std::thread> threads;
        for (int t = 0; t < args.threads; ++t) {
            std::uint64_t& slot =
                counts[static_cast<std::size_t>(t) * (slot_stride / sizeof(std::uint64_t))];
            threads.emplace_back([writer, &args, t, per_thread_rate, &slot] {
                log_loop(*writer, args.run, t, per_thread_rate, slot);
            });
        }
        std::this_thread::sleep_for(lifetime_bound);  // the test kills this process long before
        std::fprintf(stderr, "kafka_log_chaos_child: run %d was not killed within %lld s\n",
                     args.run, static_cast<long long>(lifetime_bound.count()));
        std::_Exit(3);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kafka_log_chaos_child: set-up failed: %s\n", e.what());
        std::_Exit(2);
    }
}
