// SPDX-License-Identifier: Apache-2.0
// kafka_log_fault_child: the process the fault-matrix tests (fault_matrix_process_test.cpp)
// SIGKILL or let glog abort. It logs through a KafkaWriter whose fallback is a SpoolFallback
// and publishes, in a MAP_SHARED mapping of a file the test reads (ChildBoard, in
// fault_matrix_process_support.hpp), how many records have returned from `write` and a
// snapshot of the writer's counters.
//
//   kafka_log_fault_child kill <bootstrap> <topic> <spool-dir> <board-file> <rate> [--journal]
//       Writes `rec-000000`, `rec-000001`, ... from one thread at <rate> records a second until
//       the board's `stop` is set; then publishes its final snapshot, sets `stopped` and waits
//       for the kill. message.timeout.ms is 120 s: a record the producer holds stays there.
//   kafka_log_fault_child glog-fatal <bootstrap> <topic> <spool-dir> <board-file> <lines>
//       Logs <lines> lines through glog (`line-000000`, ... at ERROR) into a GlogKafkaSink whose
//       writer has no breaker (so with Kafka down every line waits in the producer), then
//       LOG(FATAL) `the-last-words`. A second sink publishes the writer's counters when glog
//       waits for its sinks before aborting, that is after GlogKafkaSink closed the writer.
//
// Exit codes (never reached in a normal run): 2 bad arguments or set-up, 3 not killed in time,
// 4 LOG(FATAL) returned.

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

#include "fault_child_board.hpp"
#include "kafka_log/kafka_writer.hpp"
#include "kafka_log/producer_config.hpp"
#include "kafka_log/rdkafka_producer.hpp"
#include "kafka_log/spool_fallback.hpp"

#ifdef KAFKA_LOG_FAULT_CHILD_GLOG
#include <glog/logging.h>

#include "kafka_log/glog/glog_kafka_sink.hpp"
#endif

namespace {

using namespace std::chrono_literals;
using kafka_log::test::ChildBoard;

constexpr auto lifetime_bound = 120s;  // a child nobody killed ends here

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "kafka_log_fault_child: %s\nusage: kafka_log_fault_child kill <bootstrap> "
                 "<topic> <spool-dir> <board-file> <rate> [--journal]\n"
                 "       kafka_log_fault_child glog-fatal <bootstrap> <topic> <spool-dir> "
                 "<board-file> <lines>\n",
                 why);
    std::_Exit(2);
}

/// The board file, mapped shared: what this process stores there survives its death.
ChildBoard* map_board(const char* path) {
    const int fd = ::open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) usage("cannot open the board file");
    void* p = ::mmap(nullptr, sizeof(ChildBoard), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) usage("cannot map the board file");
    return static_cast<ChildBoard*>(p);
}

kafka_log::ProducerConfig producer_config(const std::string& bootstrap, int timeout_ms) {
    // As integration_support.hpp's test_config: short back-offs; a timeout the test chooses.
    return kafka_log::ProducerConfig{{"bootstrap.servers", bootstrap},
                                     {"reconnect.backoff.ms", "50"},
                                     {"reconnect.backoff.max.ms", "500"},
                                     {"retry.backoff.ms", "50"},
                                     {"message.timeout.ms", std::to_string(timeout_ms)}};
}

void publish(ChildBoard& board, const kafka_log::WriterStats& s) {
    board.publish({s.submitted, s.delivered, s.fallback_total(), s.lost, s.in_flight,
                   s.possibly_persisted, s.fallback_unreachable, s.fallback_closed});
}

int run_kill(int argc, char** argv) {
    if (argc < 7) usage("too few arguments");
    const std::string bootstrap = argv[2];
    const std::string topic = argv[3];
    const std::string spool_dir = argv[4];
    ChildBoard& board = *map_board(argv[5]);
    const double rate = std::atof(argv[6]);
    const bool journal = argc > 7 && std::string_view(argv[7]) == "--journal";
    if (rate <= 0) usage("rate must be positive");

    auto producer =
        std::make_shared<kafka_log::RdKafkaProducer>(producer_config(bootstrap, 120000));
    kafka_log::SpoolOptions spool_options;
    spool_options.segment_bytes = std::uint64_t{64} << 10;  // several segments
    spool_options.journal = journal;
    spool_options.replay_rate = 0;  // what is spooled stays there until the test reads it
    auto spool = std::make_shared<kafka_log::SpoolFallback>(spool_dir, spool_options);
    kafka_log::WriterOptions writer_options;
    writer_options.topic = topic;
    // Never destroyed: the process ends by SIGKILL (or _Exit), never through a close.
    auto* writer = new kafka_log::KafkaWriter(producer, spool, writer_options);

    const auto start = std::chrono::steady_clock::now();
    const std::chrono::duration<double> period(1.0 / rate);
    char payload[32];
    std::uint64_t seq = 0;
    for (; !board.stop_requested(); ++seq) {
        if (seq % 16 == 0) {
            // Pacing (the load's own rate, not a wait for the code under test).
            std::this_thread::sleep_until(
                start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            period * static_cast<double>(seq)));
        }
        const int n = std::snprintf(payload, sizeof payload, "rec-%06llu",
                                    static_cast<unsigned long long>(seq));
        writer->write(std::string_view(payload, static_cast<std::size_t>(n)));
        board.set_returned(seq + 1);
        if (seq % 64 == 63) publish(board, writer->stats());
    }
    publish(board, writer->stats());
    board.set_stopped();
    // Waiting to be killed; the snapshot is republished so the test sees any late change.
    const auto bound = std::chrono::steady_clock::now() + lifetime_bound;
    while (std::chrono::steady_clock::now() < bound) {
        std::this_thread::sleep_for(10ms);
        publish(board, writer->stats());
    }
    std::fprintf(stderr, "kafka_log_fault_child: not killed within %lld s\n",
                 static_cast<long long>(lifetime_bound.count()));
    std::_Exit(3);
}

#ifdef KAFKA_LOG_FAULT_CHILD_GLOG
/// Publishes the writer's counters when glog waits for its sinks after a FATAL line: every
/// sink's `send` (GlogKafkaSink's close included) has returned by then.
class BoardSink final : public google::LogSink {
public:
    BoardSink(ChildBoard& board, kafka_log::KafkaWriter& writer) : board_(board), writer_(writer) {}
    using google::LogSink::send;
    void send(google::LogSeverity severity, const char*, const char*, int,
              const google::LogMessageTime&, const char*, std::size_t) override {
        if (severity >= google::GLOG_FATAL) fatal_.store(true);
    }
    void WaitTillSent() override {
        if (!fatal_.load()) return;
        publish(board_, writer_.stats());
        board_.set_stopped();
    }

private:
    ChildBoard& board_;
    kafka_log::KafkaWriter& writer_;
    std::atomic<bool> fatal_{false};
};

int run_glog_fatal(int argc, char** argv) {
    if (argc < 7) usage("too few arguments");
    const std::string bootstrap = argv[2];
    const std::string topic = argv[3];
    const std::string spool_dir = argv[4];
    ChildBoard& board = *map_board(argv[5]);
    const long lines = std::atol(argv[6]);
    if (lines < 1) usage("lines must be positive");

    google::InitGoogleLogging("kafka_log_fault_child");
    FLAGS_logtostderr = false;
    FLAGS_stderrthreshold = google::GLOG_FATAL;
    for (int s = google::GLOG_INFO; s < google::NUM_SEVERITIES; ++s)
        google::SetLogDestination(s, "");

    auto producer = std::make_shared<kafka_log::RdKafkaProducer>(producer_config(bootstrap, 60000));
    kafka_log::SpoolOptions spool_options;
    spool_options.replay_rate = 0;
    auto spool = std::make_shared<kafka_log::SpoolFallback>(spool_dir, spool_options);
    kafka_log::WriterOptions writer_options;
    writer_options.topic = topic;
    writer_options.breaker_enabled = false;  // every line waits in the producer until FATAL
    auto writer = std::make_shared<kafka_log::KafkaWriter>(producer, spool, writer_options);
    // Never destroyed: glog aborts with both sinks registered.
    auto* sink = new kafka_log::GlogKafkaSink(
        writer, kafka_log::GlogSinkOptions{.fatal_flush_timeout = 500ms});
    auto* board_sink = new BoardSink(board, *writer);
    google::AddLogSink(sink);
    google::AddLogSink(board_sink);
    char line[32];
    for (long i = 0; i < lines; ++i) {
        std::snprintf(line, sizeof line, "line-%06ld", i);
        LOG(ERROR) << line;
        board.set_returned(static_cast<std::uint64_t>(i) + 1);
    }
    publish(board, writer->stats());
    LOG(FATAL) << "the-last-words";
    std::_Exit(4);
}
#endif

}  // namespace

int main(int argc, char** argv) {
    // Dies with the test process; checked once more in case the parent died before the prctl.
    const pid_t parent = ::getppid();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) return 2;
    if (argc < 2) usage("no mode");
    try {
        const std::string_view mode = argv[1];
        if (mode == "kill") return run_kill(argc, argv);
#ifdef KAFKA_LOG_FAULT_CHILD_GLOG
        if (mode == "glog-fatal") return run_glog_fatal(argc, argv);
#endif
        usage("unknown mode");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kafka_log_fault_child: set-up failed: %s\n", e.what());
        std::_Exit(2);
    }
}
