// SPDX-License-Identifier: Apache-2.0
// The hot path, with its baselines in the same binary and the same (embedded) cluster:
//   raw librdkafka producev, Boost.Log's synchronous text file sink, a record Boost.Log's core
//   filters out, and Boost.Log with a discarding backend (to split its own cost from the
//   formatter's) — against kafka_log through Boost.Log with the real producer (1 and 2
//   threads; and producing on the calling thread), with the mock, with the cluster down
//   (breaker open, file fallback written through or buffered), and filtered by AtomicLevel.
//   Every benchmark reports allocations per record on the calling thread and RSS.
//   The calling-thread cost is measured two ways, alike for raw librdkafka and kafka_log: one
//   thread logging flat out (both cores busy: librdkafka's own threads and ours take turns
//   with it), and bursts that fit the hand-off ring, everything delivered between bursts
//   (untimed), so a burst runs on a producer with room and the time is the calling thread's.
//   The side-by-side rows run the compared paths in alternation, a chunk each per round, and
//   give each round's ratios: the targets' ratios come from them.
//   Throughput (10 threads) and memory (1 000 000 records, cluster down / up) come last.
//
//   kafka_log_bench [google benchmark flags]      (ci/bench.sh runs it and writes RESULTS.md)

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/log/attributes/clock.hpp>
#include <boost/log/attributes/constant.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_file_backend.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/support/date_time.hpp>
#include <boost/log/trivial.hpp>
#include <boost/make_shared.hpp>

#include "accepting_producer.hpp"
#include "bench_support.hpp"
#include "kafka_log/boost_log/atomic_level.hpp"
#include "kafka_log/boost_log/clock.hpp"
#include "kafka_log/boost_log/json_formatter.hpp"
#include "kafka_log/boost_log/kafka_sink_backend.hpp"
#include "kafka_log/kafka_writer.hpp"
#include "kafka_log/rdkafka_producer.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "kafka_log/testing/embedded_cluster.hpp"

// --- allocation counter: malloc interposed for the whole process -----------------------------
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
}
namespace {
__thread std::uint64_t t_allocations __attribute__((tls_model("initial-exec"))) = 0;
}
extern "C" void* malloc(std::size_t n) {
    ++t_allocations;
    return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t a, std::size_t b) {
    ++t_allocations;
    return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, std::size_t n) {
    ++t_allocations;
    return __libc_realloc(p, n);
}
std::uint64_t kafka_log::bench::thread_allocations() noexcept {
    return t_allocations;
}

namespace {

namespace logging = boost::log;
namespace sinks = boost::log::sinks;
namespace expr = boost::log::expressions;
using level = logging::trivial::severity_level;
using namespace std::chrono_literals;
using kafka_log::bench::thread_allocations;

// --- the cluster, in a child process ---------------------------------------------------------

std::string g_bootstrap;
pid_t g_cluster_pid = 0;

/// Forks before any thread exists; the child runs an EmbeddedCluster until its stdin closes.
void start_cluster_process() {
    int to_parent[2];
    int to_child[2];
    if (::pipe(to_parent) != 0 || ::pipe(to_child) != 0) std::abort();
    g_cluster_pid = ::fork();
    if (g_cluster_pid == 0) {
        ::close(to_parent[0]);
        ::close(to_child[1]);
        kafka_log::EmbeddedCluster cluster(1);
        // The topics of the per-call benchmarks exist before anyone produces, alike for both sides.
        cluster.create_topic("bench-raw", 4, 1);
        cluster.create_topic("bench-kafka_log", 4, 1);
        const std::string bootstrap = cluster.bootstrap_servers() + "\n";
        if (::write(to_parent[1], bootstrap.data(), bootstrap.size()) < 0) std::_Exit(1);
        char c;
        while (::read(to_child[0], &c, 1) > 0) {
        }
        std::_Exit(0);
    }
    ::close(to_parent[1]);
    ::close(to_child[0]);
    char buf[256];
    const ssize_t n = ::read(to_parent[0], buf, sizeof buf);
    if (n <= 1) std::abort();
    g_bootstrap.assign(buf, static_cast<std::size_t>(n - 1));
    // to_child[1] stays open for our lifetime: the child exits when we do.
}

/// Producer settings shared by the raw baseline and kafka_log: a queue large enough that the
/// calling thread never sees queue_full in these runs.
kafka_log::ProducerConfig producer_config(const std::string& bootstrap) {
    return kafka_log::ProducerConfig{{"bootstrap.servers", bootstrap},
                                     {"linger.ms", "5"},
                                     {"queue.buffering.max.messages", "2000000"},
                                     {"queue.buffering.max.kbytes", "2097151"},
                                     {"reconnect.backoff.max.ms", "500"}};
}

// --- the record ----------------------------------------------------------------------------

/// Where the record's TimeStamp comes from: Boost.Log's local_clock (localtime_r per record,
/// behind glibc's process-wide time zone lock), or kafka_log::LocalClock (the same value,
/// converted once a second per thread).
enum class TimeSource { boost_local_clock, kafka_log_local_clock };

/// Timestamp, severity, message, two attributes.
logging::sources::severity_logger<level> make_logger(
    TimeSource time = TimeSource::boost_local_clock) {
    logging::sources::severity_logger<level> logger;
    if (time == TimeSource::boost_local_clock) {
        logger.add_attribute("TimeStamp", logging::attributes::local_clock());
    } else {
        logger.add_attribute("TimeStamp", kafka_log::LocalClock());
    }
    logger.add_attribute("Service", logging::attributes::constant<std::string>("checkout"));
    logger.add_attribute("Answer", logging::attributes::constant<int>(42));
    return logger;
}

void log_one(logging::sources::severity_logger<level>& logger) {
    BOOST_LOG_SEV(logger, level::info) << "order placed for customer 1234";
}

/// The JSON line kafka_log makes of that record (the raw baseline produces the same bytes).
std::string sample_json_line() {
    return R"({"level":"info","logtime":"2026-11-24T23:10:46.518+00:00",)"
           R"("msg":"order placed for customer 1234","Answer":42,"Service":"checkout"})";
}

void report(benchmark::State& state, std::uint64_t allocations) {
    state.counters["allocs_per_record"] =
        benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
    state.counters["rss_MiB"] =
        benchmark::Counter(kafka_log::bench::rss_mib(), benchmark::Counter::kAvgThreads);
}

std::filesystem::path temp_file(const std::string& name) {
    return std::filesystem::temp_directory_path() /
           ("kafka_log_bench-" + name + "-" + std::to_string(::getpid()));
}

// --- raw librdkafka --------------------------------------------------------------------------

/// Records each producer (raw or kafka_log) sends before anything is timed.
constexpr int warm_up_records = 1000;

struct RawProducer {
    explicit RawProducer(const std::string& topic_name = "bench-raw") {
        char err[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        const kafka_log::ProducerConfig config = producer_config(g_bootstrap);
        for (const auto& [k, v] : config.properties()) {
            rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err);
        }
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
        rd_kafka_conf_set_dr_msg_cb(
            conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
                if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
                    static_cast<RawProducer*>(opaque)->delivered.fetch_add(1);
            });
        rd_kafka_conf_set_opaque(conf, this);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
        topic = rd_kafka_topic_new(rk, topic_name.c_str(), nullptr);
        poller = std::thread([this] {
            while (!stop) rd_kafka_poll(rk, 50);
        });
        // Warm: metadata known and a connection up before anything is timed.
        for (int i = 0; i < warm_up_records; ++i) produce("warm-up");
        rd_kafka_flush(rk, 30000);
    }
    ~RawProducer() {
        rd_kafka_flush(rk, 30000);
        stop = true;
        poller.join();
        rd_kafka_topic_destroy(topic);
        rd_kafka_destroy(rk);
    }
    void produce(const std::string& payload) {
        rd_kafka_producev(rk, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
                          RD_KAFKA_V_END);
    }
    rd_kafka_t* rk = nullptr;
    rd_kafka_topic_t* topic = nullptr;
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> delivered{0};
    std::thread poller;
};

RawProducer& raw_producer() {
    static RawProducer producer;
    return producer;
}

void BM_Raw_Producev(benchmark::State& state) {
    RawProducer& producer = raw_producer();
    const std::string payload = sample_json_line();
    const std::uint64_t before = thread_allocations();
    for (auto _ : state) producer.produce(payload);
    report(state, thread_allocations() - before);
    // Untimed: no backlog is left to the benchmarks that follow.
    if (state.thread_index() == 0) rd_kafka_flush(producer.rk, 60000);
}

/// Records per burst: one hand-off ring's worth (RdKafkaOptions::handoff_slots' default).
constexpr int burst_records = 8192;
/// Records per flat-out chunk of the side-by-side run: the hand-off ring's size eight times.
constexpr int flat_out_chunk = 8 * burst_records;
/// Records per chunk of the side-by-side filtered run (about 50 ms each).
constexpr int filtered_chunk = 1 << 20;

/// Times `log` in bursts of burst_records; after each, untimed, `settle` waits until every
/// record is delivered, so the next burst starts on an idle producer.
template <typename Log, typename Settle>
void run_bursts(benchmark::State& state, Log log, Settle settle) {
    const std::uint64_t before = thread_allocations();
    int in_burst = 0;
    for (auto _ : state) {
        log();
        if (++in_burst == burst_records) {
            state.PauseTiming();
            settle();
            in_burst = 0;
            state.ResumeTiming();
        }
    }
    report(state, thread_allocations() - before);
    settle();
}

void BM_Raw_ProducevBursts(benchmark::State& state) {
    RawProducer& producer = raw_producer();
    const std::string payload = sample_json_line();
    run_bursts(
        state, [&] { producer.produce(payload); }, [&] { rd_kafka_flush(producer.rk, 60000); });
}

// --- Boost.Log baselines -----------------------------------------------------------------------

using TextSink = sinks::synchronous_sink<sinks::text_file_backend>;

/// Boost.Log's own synchronous text file sink, `[%TimeStamp%] [%Severity%] %Message%`, without
/// auto_flush (its default), writing to temp_file(name). Not yet added to the core.
boost::shared_ptr<TextSink> make_text_sink(const std::string& name) {
    auto backend = boost::make_shared<sinks::text_file_backend>(
        logging::keywords::file_name = temp_file(name).string(),
        logging::keywords::auto_flush = false);
    auto sink = boost::make_shared<TextSink>(backend);
    sink->set_formatter(expr::stream << "["
                                     << expr::format_date_time<boost::posix_time::ptime>(
                                            "TimeStamp", "%Y-%m-%d %H:%M:%S.%f")
                                     << "] [" << logging::trivial::severity << "] "
                                     << expr::smessage);
    return sink;
}

void BM_BoostLog_TextFileSink(benchmark::State& state) {
    static boost::shared_ptr<TextSink> sink;
    if (state.thread_index() == 0) {
        sink = make_text_sink("text");
        logging::core::get()->add_sink(sink);
    }
    auto logger = make_logger();
    const std::uint64_t before = thread_allocations();
    for (auto _ : state) log_one(logger);
    report(state, thread_allocations() - before);
    if (state.thread_index() == 0) {
        logging::core::get()->remove_sink(sink);
        sink.reset();
        std::filesystem::remove(temp_file("text"));
    }
}

void BM_BoostLog_CoreFilteredRecord(benchmark::State& state) {
    auto backend = boost::make_shared<sinks::text_file_backend>(logging::keywords::file_name =
                                                                    temp_file("filtered").string());
    auto sink = boost::make_shared<sinks::synchronous_sink<sinks::text_file_backend>>(backend);
    logging::core::get()->add_sink(sink);
    logging::core::get()->set_filter(logging::trivial::severity >= level::warning);
    auto logger = make_logger();
    const std::uint64_t before = thread_allocations();
    for (auto _ : state) log_one(logger);  // info: rejected by the core's filter
    report(state, thread_allocations() - before);
    logging::core::get()->reset_filter();
    logging::core::get()->remove_sink(sink);
    std::filesystem::remove(temp_file("filtered"));
}

/// Where the time goes: the same record through an unlocked sink whose backend discards the
/// formatted line, formatted as the text sink formats it, or as kafka_log's JSON.
struct DiscardingBackend : sinks::basic_formatted_sink_backend<char, sinks::concurrent_feeding> {
    void consume(const logging::record_view&, const string_type& line) {
        benchmark::DoNotOptimize(line.data());
    }
};

/// One sink for all threads of a run (set up by thread 0 before the threads start together).
void run_discarding(benchmark::State& state, logging::formatter formatter,
                    TimeSource time = TimeSource::boost_local_clock) {
    static boost::shared_ptr<sinks::unlocked_sink<DiscardingBackend>> sink;
    if (state.thread_index() == 0) {
        sink = boost::make_shared<sinks::unlocked_sink<DiscardingBackend>>();
        sink->set_formatter(std::move(formatter));
        logging::core::get()->add_sink(sink);
    }
    auto logger = make_logger(time);
    const std::uint64_t before = thread_allocations();
    for (auto _ : state) log_one(logger);
    report(state, thread_allocations() - before);
    if (state.thread_index() == 0) logging::core::get()->remove_sink(sink);
}

void BM_BoostLog_DiscardText(benchmark::State& state) {
    run_discarding(state, expr::stream << "["
                                       << expr::format_date_time<boost::posix_time::ptime>(
                                              "TimeStamp", "%Y-%m-%d %H:%M:%S.%f")
                                       << "] [" << logging::trivial::severity << "] "
                                       << expr::smessage);
}

void BM_BoostLog_DiscardJson(benchmark::State& state) {
    run_discarding(state, kafka_log::json_formatter());
}
void BM_BoostLog_DiscardMsg(benchmark::State& state) {
    run_discarding(state, expr::stream << expr::smessage);
}
void BM_BoostLog_DiscardJsonLocalClock(benchmark::State& state) {
    run_discarding(state, kafka_log::json_formatter(), TimeSource::kafka_log_local_clock);
}

// --- kafka_log ---------------------------------------------------------------------------------

using KafkaSink = sinks::unlocked_sink<kafka_log::KafkaSinkBackend>;

struct Pipeline {
    Pipeline(std::shared_ptr<kafka_log::AsyncProducer> producer, const std::string& name,
             std::chrono::milliseconds close_wait = 30s,
             kafka_log::FileFallbackOptions fallback_options = {},
             const std::string& topic = "bench-kafka_log", bool spool = false, bool journal = false,
             kafka_log::SinkOptions sink_options = {})
        : close_timeout(close_wait),
          fallback_path(temp_file(name)),
          writer(std::make_shared<kafka_log::KafkaWriter>(
              std::move(producer),
              spool ? std::shared_ptr<kafka_log::FallbackWriter>(
                          std::make_shared<kafka_log::SpoolFallback>(
                              fallback_path, kafka_log::SpoolOptions{.journal = journal}))
                    : std::make_shared<kafka_log::FileFallback>(fallback_path, fallback_options),
              kafka_log::WriterOptions{.topic = topic})),
          sink(boost::make_shared<KafkaSink>(
              boost::make_shared<kafka_log::KafkaSinkBackend>(writer, std::move(sink_options)))) {
        sink->set_formatter(kafka_log::json_formatter());
        // Warm, as the raw baseline is: metadata known and a connection up before anything is
        // timed (a cluster-down pipeline has nothing to warm).
        for (int i = 0; i < warm_up_records; ++i) writer->write("warm-up");
        writer->flush(close_wait);
    }
    ~Pipeline() {
        writer->close(close_timeout);
        sink.reset();  // the writer's last owners, and so the fallback's: a spool is released
        writer.reset();
        std::filesystem::remove_all(fallback_path);
    }
    std::chrono::milliseconds close_timeout;
    std::filesystem::path fallback_path;
    std::shared_ptr<kafka_log::KafkaWriter> writer;
    boost::shared_ptr<KafkaSink> sink;
};

Pipeline& real_pipeline() {
    static Pipeline p(std::make_shared<kafka_log::RdKafkaProducer>(producer_config(g_bootstrap)),
                      "real");
    return p;
}

/// The real pipeline's twin whose sink makes two headers of every record
/// (`SinkOptions::header_attributes` = Service and Answer, attributes every record carries: a
/// string and an integer).
Pipeline& headers_pipeline() {
    static Pipeline p(std::make_shared<kafka_log::RdKafkaProducer>(producer_config(g_bootstrap)),
                      "up-headers", 30s, {}, "bench-kafka_log", false, false,
                      kafka_log::SinkOptions{.header_attributes = {"Service", "Answer"}});
    return p;
}

void run_pipeline(benchmark::State& state, Pipeline& p,
                  TimeSource time = TimeSource::boost_local_clock) {
    if (state.thread_index() == 0) logging::core::get()->add_sink(p.sink);
    auto logger = make_logger(time);
    const std::uint64_t before = thread_allocations();
    for (auto _ : state) log_one(logger);
    report(state, thread_allocations() - before);
    if (state.thread_index() == 0) {
        logging::core::get()->remove_sink(p.sink);
        // Untimed: no backlog is left to the benchmarks that follow (with the cluster down,
        // what is left waits for message.timeout.ms and costs nothing meanwhile).
        if (!p.writer->breaker_open()) p.writer->flush(60s);
        const auto s = p.writer->stats();
        state.counters["fallback"] = static_cast<double>(s.fallback_total());
        state.counters["identity_ok"] = s.balanced() ? 1 : 0;
    }
}

void BM_KafkaLog_RealProducer(benchmark::State& state) {
    run_pipeline(state, real_pipeline());
}
void BM_KafkaLog_RealProducerLocalClock(benchmark::State& state) {
    run_pipeline(state, real_pipeline(), TimeSource::kafka_log_local_clock);
}

void run_pipeline_bursts(benchmark::State& state, TimeSource time) {
    Pipeline& p = real_pipeline();
    logging::core::get()->add_sink(p.sink);
    auto logger = make_logger(time);
    run_bursts(
        state, [&] { log_one(logger); }, [&] { p.writer->flush(60s); });
    logging::core::get()->remove_sink(p.sink);
    const auto s = p.writer->stats();
    state.counters["fallback"] = static_cast<double>(s.fallback_total());
    state.counters["identity_ok"] = s.balanced() ? 1 : 0;
}

void BM_KafkaLog_RealProducerBursts(benchmark::State& state) {
    run_pipeline_bursts(state, TimeSource::boost_local_clock);
}
void BM_KafkaLog_RealProducerLocalClockBursts(benchmark::State& state) {
    run_pipeline_bursts(state, TimeSource::kafka_log_local_clock);
}

/// As BM_KafkaLog_RealProducer, each record with two headers (its allocations per record
/// included).
void BM_KafkaLog_RealProducerTwoHeaders(benchmark::State& state) {
    run_pipeline(state, headers_pipeline());
}

void BM_KafkaLog_RealProducerOnCallingThread(benchmark::State& state) {
    static Pipeline p = [] {
        kafka_log::RdKafkaOptions options;
        options.produce_on = kafka_log::ProduceOn::calling_thread;
        return Pipeline(
            std::make_shared<kafka_log::RdKafkaProducer>(producer_config(g_bootstrap), options),
            "calling-thread");
    }();
    run_pipeline(state, p);
}

void BM_KafkaLog_Mock(benchmark::State& state) {
    static Pipeline p(std::make_shared<kafka_log::bench::AcceptingProducer>(), "mock");
    run_pipeline(state, p);
}

/// Nothing listens on port 1 of the loopback: the client reports every broker down, the
/// breaker opens, and records go straight to the file fallback.
Pipeline make_down_pipeline(const std::string& name,
                            kafka_log::FileFallbackOptions fallback_options = {},
                            bool spool = false) {
    return Pipeline(std::make_shared<kafka_log::RdKafkaProducer>(
                        producer_config("127.0.0.1:1"),
                        kafka_log::RdKafkaOptions{
                            .log_callback = [](int, std::string_view, std::string_view) {},
                            .error_callback = [](int, std::string_view) {}}),
                    name, 0s, fallback_options, "bench-kafka_log", spool);
}

/// Logs until the pipeline's breaker is open (records go to the fallback); false after 20 s.
bool open_breaker(Pipeline& p) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    auto logger = make_logger();
    logging::core::get()->add_sink(p.sink);
    while (!p.writer->breaker_open() && std::chrono::steady_clock::now() < deadline)
        log_one(logger);
    logging::core::get()->remove_sink(p.sink);
    return p.writer->breaker_open();
}

void run_cluster_down(benchmark::State& state, Pipeline& p) {
    if (state.thread_index() == 0 && !open_breaker(p))
        state.SkipWithError("the breaker did not open");
    run_pipeline(state, p);
}

/// The default FileFallback: each record is in the file before write() returns.
Pipeline& down_pipeline() {
    static Pipeline p = make_down_pipeline("down");
    return p;
}

/// FileFallback with a 64 KiB buffer: the durability of the text sink it is compared with
/// (Boost.Log's text_file_backend without auto_flush).
Pipeline& down_buffered_pipeline() {
    static Pipeline p = make_down_pipeline(
        "down-buffered", kafka_log::FileFallbackOptions{.buffer_bytes = 64 * 1024});
    return p;
}

/// SpoolFallback: each record copied into a memory-mapped segment (it survives the process
/// being killed), no system call per record.
Pipeline& down_spool_pipeline() {
    static Pipeline p = make_down_pipeline("down-spool", {}, true);
    return p;
}

void BM_KafkaLog_ClusterDown(benchmark::State& state) {
    run_cluster_down(state, down_pipeline());
}
void BM_KafkaLog_ClusterDownSpool(benchmark::State& state) {
    run_cluster_down(state, down_spool_pipeline());
}
void BM_KafkaLog_ClusterDownBufferedFallback(benchmark::State& state) {
    run_cluster_down(state, down_buffered_pipeline());
}

void BM_KafkaLog_AtomicLevelCoreFilter(benchmark::State& state) {
    static kafka_log::AtomicLevel threshold(level::warning);
    Pipeline& p = real_pipeline();
    logging::core::get()->set_filter(threshold.filter());
    run_pipeline(state, p);  // info: rejected by AtomicLevel installed as the core's filter
    logging::core::get()->reset_filter();
}

void BM_KafkaLog_AtomicLevelSinkFilter(benchmark::State& state) {
    static kafka_log::AtomicLevel threshold(level::warning);
    Pipeline& p = real_pipeline();
    p.sink->set_filter(threshold.filter());
    run_pipeline(state, p);  // info: rejected by AtomicLevel installed as the sink's filter
    p.sink->reset_filter();
}

// --- side by side: baselines and kafka_log in alternation, ratios per round -----------------
//
// The machine drifts between slow and fast spells that last seconds: two benchmarks run a
// minute apart can differ by 1.6x with no change of code. A ratio of two medians taken at
// different times inherits that drift. Here every path of a comparison runs a chunk of records
// in each round, one after another, the order rotating from round to round; each round gives
// its own ratios, and the median of the rounds' ratios is reported. Paths and their untimed
// settling are the same as in the single rows above.

/// One path of a side-by-side run.
struct PairedPath {
    std::string name;
    std::function<void()> begin;           ///< Untimed, before a chunk (say, add its sink).
    std::function<void(int records)> run;  ///< Timed: log `records` records.
    std::function<void()> end;             ///< Untimed, after a chunk (remove the sink, deliver).
};

/// A ratio reported per round: the time of path `numerator` over that of `denominator`.
struct PairedRatio {
    std::string name;
    std::size_t numerator;
    std::size_t denominator;
};

double thread_cpu_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const std::size_t mid = values.size() / 2;
    return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

/// Each benchmark iteration is one round: every path runs `chunk` records, in an order that
/// rotates by one path per round. Counters: `<path>_ns` and `<path>_cpu_ns` (the median over
/// rounds of the calling thread's wall-clock and CPU time per record) and `<ratio>` (the
/// median over rounds of the per-round wall-clock ratio).
void run_paired(benchmark::State& state, const std::vector<PairedPath>& paths,
                const std::vector<PairedRatio>& ratios, int chunk) {
    std::vector<std::vector<double>> wall(paths.size()), cpu(paths.size());
    std::size_t round = 0;
    for (auto _ : state) {
        double round_ns = 0;
        for (std::size_t k = 0; k < paths.size(); ++k) {
            const std::size_t i = (round + k) % paths.size();
            const PairedPath& path = paths[i];
            if (path.begin) path.begin();
            const double cpu_start = thread_cpu_ns();
            const auto start = std::chrono::steady_clock::now();
            path.run(chunk);
            const auto stop = std::chrono::steady_clock::now();
            const double cpu_stop = thread_cpu_ns();
            if (path.end) path.end();
            const double ns = std::chrono::duration<double, std::nano>(stop - start).count();
            wall[i].push_back(ns / chunk);
            cpu[i].push_back((cpu_stop - cpu_start) / chunk);
            round_ns += ns;
        }
        state.SetIterationTime(round_ns / 1e9);
        ++round;
    }
    for (std::size_t i = 0; i < paths.size(); ++i) {
        state.counters[paths[i].name + "_ns"] = median(wall[i]);
        state.counters[paths[i].name + "_cpu_ns"] = median(cpu[i]);
    }
    for (const PairedRatio& r : ratios) {
        std::vector<double> per_round;
        for (std::size_t n = 0; n < wall[r.numerator].size(); ++n) {
            per_round.push_back(wall[r.numerator][n] / wall[r.denominator][n]);
        }
        state.counters[r.name] = median(per_round);
    }
    state.counters["rounds"] = static_cast<double>(round);
}

/// A path that logs `logger`'s record through `sink` (added to the core for the chunk only),
/// then runs `settle`.
PairedPath boost_path(std::string name, boost::shared_ptr<sinks::sink> sink,
                      std::shared_ptr<logging::sources::severity_logger<level>> logger,
                      std::function<void()> settle) {
    return PairedPath{std::move(name), [sink] { logging::core::get()->add_sink(sink); },
                      [logger](int records) {
                          for (int n = 0; n < records; ++n) log_one(*logger);
                      },
                      [sink, settle = std::move(settle)] {
                          logging::core::get()->remove_sink(sink);
                          if (settle) settle();
                      }};
}

PairedPath raw_path() {
    RawProducer& producer = raw_producer();
    auto payload = std::make_shared<const std::string>(sample_json_line());
    return PairedPath{"raw", nullptr,
                      [&producer, payload](int records) {
                          for (int n = 0; n < records; ++n) producer.produce(*payload);
                      },
                      [&producer] { rd_kafka_flush(producer.rk, 60000); }};
}

PairedPath kafka_log_path(const std::string& name, TimeSource time) {
    Pipeline& p = real_pipeline();
    return boost_path(name, p.sink,
                      std::make_shared<logging::sources::severity_logger<level>>(make_logger(time)),
                      [&p] { p.writer->flush(60s); });
}

PairedPath text_path(const boost::shared_ptr<TextSink>& sink) {
    return boost_path("text", sink,
                      std::make_shared<logging::sources::severity_logger<level>>(make_logger()),
                      nullptr);
}

/// Checks, after a paired run, that kafka_log's writers kept the no-loss identity.
void report_identity(benchmark::State& state, std::initializer_list<Pipeline*> pipelines) {
    bool ok = true;
    for (Pipeline* p : pipelines) ok = ok && p->writer->stats().balanced();
    state.counters["identity_ok"] = ok ? 1 : 0;
}

/// One logging thread in bursts of a ring's size, delivered between bursts: raw producev,
/// kafka_log (Boost.Log's local_clock, and kafka_log::LocalClock) and the text file sink.
void BM_SideBySide_Bursts(benchmark::State& state) {
    const auto text_sink = make_text_sink("text-paired-bursts");
    const std::vector<PairedPath> paths{
        raw_path(), kafka_log_path("kafka_log", TimeSource::boost_local_clock),
        kafka_log_path("kafka_log_lc", TimeSource::kafka_log_local_clock), text_path(text_sink)};
    run_paired(state, paths,
               {{"kafka_log_over_raw", 1, 0},
                {"kafka_log_lc_over_raw", 2, 0},
                {"kafka_log_over_text", 1, 3},
                {"kafka_log_lc_over_text", 2, 3},
                {"raw_over_text", 0, 3}},
               burst_records);
    report_identity(state, {&real_pipeline()});
    std::filesystem::remove(temp_file("text-paired-bursts"));
}

/// One logging thread flat out for a chunk long enough to fill the hand-off ring many times
/// over (everything delivered between chunks, untimed), the same paths, and the cluster-down
/// pipelines (breaker open) against the same text sink.
void BM_SideBySide_FlatOut(benchmark::State& state) {
    Pipeline& down = down_pipeline();
    Pipeline& down_buffered = down_buffered_pipeline();
    if (!open_breaker(down) || !open_breaker(down_buffered)) {
        state.SkipWithError("the breaker did not open");
        return;
    }
    const auto text_sink = make_text_sink("text-paired-flat");
    auto logger = std::make_shared<logging::sources::severity_logger<level>>(make_logger());
    const std::vector<PairedPath> paths{
        raw_path(),
        kafka_log_path("kafka_log", TimeSource::boost_local_clock),
        kafka_log_path("kafka_log_lc", TimeSource::kafka_log_local_clock),
        text_path(text_sink),
        boost_path("down_buffered", down_buffered.sink, logger, nullptr),
        boost_path("down", down.sink, logger, nullptr)};
    run_paired(state, paths,
               {{"kafka_log_over_raw", 1, 0},
                {"kafka_log_lc_over_raw", 2, 0},
                {"kafka_log_over_text", 1, 3},
                {"kafka_log_lc_over_text", 2, 3},
                {"down_buffered_over_text", 4, 3},
                {"down_over_text", 5, 3},
                {"raw_over_text", 0, 3}},
               flat_out_chunk);
    report_identity(state, {&real_pipeline(), &down, &down_buffered});
    std::filesystem::remove(temp_file("text-paired-flat"));
}

/// The cluster down (breaker open), one logging thread flat out: the spool, the written-through
/// FileFallback and the buffered one against Boost.Log's text file sink, in the same rounds.
void BM_SideBySide_ClusterDown(benchmark::State& state) {
    Pipeline& down = down_pipeline();
    Pipeline& down_buffered = down_buffered_pipeline();
    Pipeline& down_spool = down_spool_pipeline();
    if (!open_breaker(down) || !open_breaker(down_buffered) || !open_breaker(down_spool)) {
        state.SkipWithError("the breaker did not open");
        return;
    }
    const auto text_sink = make_text_sink("text-paired-down");
    auto logger = std::make_shared<logging::sources::severity_logger<level>>(make_logger());
    const std::vector<PairedPath> paths{
        text_path(text_sink), boost_path("spool", down_spool.sink, logger, nullptr),
        boost_path("down", down.sink, logger, nullptr),
        boost_path("down_buffered", down_buffered.sink, logger, nullptr)};
    run_paired(state, paths,
               {{"spool_over_text", 1, 0},
                {"spool_over_file", 1, 2},
                {"spool_over_buffered_file", 1, 3},
                {"down_over_text", 2, 0}},
               flat_out_chunk);
    const auto s = down_spool.writer->stats();
    state.counters["spool_records"] = static_cast<double>(s.fallback_total());
    report_identity(state, {&down, &down_buffered, &down_spool});
    std::filesystem::remove(temp_file("text-paired-down"));
}

/// The cluster up, one logging thread in bursts (delivered between them, untimed): the spool as
/// fallback without and with the journal (a copy of every record in the spool before the
/// producer has it, settled on delivery), and the file fallback, in the same rounds.
void BM_SideBySide_Journal(benchmark::State& state) {
    static Pipeline spool(
        std::make_shared<kafka_log::RdKafkaProducer>(producer_config(g_bootstrap)), "up-spool", 30s,
        {}, "bench-kafka_log", true, false);
    static Pipeline journal(
        std::make_shared<kafka_log::RdKafkaProducer>(producer_config(g_bootstrap)), "up-journal",
        30s, {}, "bench-kafka_log", true, true);
    auto logger = std::make_shared<logging::sources::severity_logger<level>>(make_logger());
    const std::vector<PairedPath> paths{
        kafka_log_path("kafka_log", TimeSource::boost_local_clock),
        boost_path("spool", spool.sink, logger, [] { spool.writer->flush(60s); }),
        boost_path("journal", journal.sink, logger, [] { journal.writer->flush(60s); })};
    run_paired(
        state, paths,
        {{"journal_over_spool", 2, 1}, {"journal_over_file", 2, 0}, {"spool_over_file", 1, 0}},
        burst_records);
    const auto s = journal.writer->stats();
    state.counters["journal_open"] = static_cast<double>(s.journal_open);
    state.counters["journal_fallback"] = static_cast<double>(s.fallback_total());
    report_identity(state, {&real_pipeline(), &spool, &journal});
}

/// The cluster up, one logging thread in bursts: the same record without headers and with two,
/// in the same rounds.
void BM_SideBySide_Headers(benchmark::State& state) {
    Pipeline& headers = headers_pipeline();
    auto logger = std::make_shared<logging::sources::severity_logger<level>>(make_logger());
    const std::vector<PairedPath> paths{
        kafka_log_path("kafka_log", TimeSource::boost_local_clock),
        boost_path("headers", headers.sink, logger, [&headers] { headers.writer->flush(60s); })};
    run_paired(state, paths, {{"headers_over_kafka_log", 1, 0}}, burst_records);
    report_identity(state, {&real_pipeline(), &headers});
}

/// A record below the level: Boost.Log's own core filter (`severity >= warning`, a text sink
/// behind it) and AtomicLevel installed as the core's filter (kafka_log's sink behind it).
void BM_SideBySide_Filtered(benchmark::State& state) {
    static kafka_log::AtomicLevel threshold(level::warning);
    const auto text_sink = make_text_sink("text-paired-filtered");
    Pipeline& p = real_pipeline();
    auto logger = std::make_shared<logging::sources::severity_logger<level>>(make_logger());
    const auto run = [logger](int records) {
        for (int n = 0; n < records; ++n) log_one(*logger);  // info: rejected
    };
    const std::vector<PairedPath> paths{
        PairedPath{"boost_filtered",
                   [text_sink] {
                       logging::core::get()->add_sink(text_sink);
                       logging::core::get()->set_filter(logging::trivial::severity >=
                                                        level::warning);
                   },
                   run,
                   [text_sink] {
                       logging::core::get()->reset_filter();
                       logging::core::get()->remove_sink(text_sink);
                   }},
        PairedPath{"atomic_level",
                   [&p] {
                       logging::core::get()->add_sink(p.sink);
                       logging::core::get()->set_filter(threshold.filter());
                   },
                   run,
                   [&p] {
                       logging::core::get()->reset_filter();
                       logging::core::get()->remove_sink(p.sink);
                   }}};
    run_paired(state, paths, {{"atomic_level_over_boost_filtered", 1, 0}}, filtered_chunk);
    report_identity(state, {&p});
    std::filesystem::remove(temp_file("text-paired-filtered"));
}

// --- throughput: 10 threads x 100 000 records, flush included -----------------------------

constexpr int e2e_threads = 10;
constexpr int e2e_records = 100000;

/// A fresh topic per run: the embedded cluster keeps what earlier benchmarks produced, and
/// neither side should pay for another's history.
std::string next_e2e_topic(const std::string& side) {
    static int run = 0;
    return "bench-e2e-" + side + "-" + std::to_string(++run);
}

void BM_E2E_Raw(benchmark::State& state) {
    for (auto _ : state) {
        RawProducer producer(next_e2e_topic("raw"));
        const std::string payload = sample_json_line();
        std::vector<std::thread> threads;
        for (int t = 0; t < e2e_threads; ++t) {
            threads.emplace_back([&] {
                for (int i = 0; i < e2e_records; ++i) producer.produce(payload);
            });
        }
        for (auto& t : threads) t.join();
        rd_kafka_flush(producer.rk, 60000);
        if (producer.delivered.load() !=
            static_cast<std::uint64_t>(e2e_threads) * e2e_records + warm_up_records) {
            state.SkipWithError("not every record was delivered");
        }
    }
    state.counters["records_per_s"] =
        benchmark::Counter(static_cast<double>(e2e_threads) * e2e_records,
                           benchmark::Counter::kIsIterationInvariantRate);
}

void BM_E2E_KafkaLog(benchmark::State& state) {
    for (auto _ : state) {
        Pipeline p(std::make_shared<kafka_log::RdKafkaProducer>(producer_config(g_bootstrap)),
                   "e2e", 30s, {}, next_e2e_topic("kafka_log"));
        logging::core::get()->add_sink(p.sink);
        std::vector<std::thread> threads;
        for (int t = 0; t < e2e_threads; ++t) {
            threads.emplace_back([] {
                auto logger = make_logger();
                for (int i = 0; i < e2e_records; ++i) log_one(logger);
            });
        }
        for (auto& t : threads) t.join();
        logging::core::get()->remove_sink(p.sink);
        p.sink->flush();
        if (p.writer->stats().delivered !=
            static_cast<std::uint64_t>(e2e_threads) * e2e_records + warm_up_records) {
            state.SkipWithError("not every record was delivered");
        }
    }
    state.counters["records_per_s"] =
        benchmark::Counter(static_cast<double>(e2e_threads) * e2e_records,
                           benchmark::Counter::kIsIterationInvariantRate);
}

// --- memory: 1 000 000 records with the cluster down, then up ------------------------------

void BM_Memory_ClusterDown_1M(benchmark::State& state) {
    for (auto _ : state) {
        Pipeline p(std::make_shared<kafka_log::RdKafkaProducer>(
                       producer_config("127.0.0.1:1"),
                       kafka_log::RdKafkaOptions{
                           .log_callback = [](int, std::string_view, std::string_view) {},
                           .error_callback = [](int, std::string_view) {}}),
                   "memory-down", 0s);
        logging::core::get()->add_sink(p.sink);
        auto logger = make_logger();
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (!p.writer->breaker_open() && std::chrono::steady_clock::now() < deadline)
            log_one(logger);
        kafka_log::bench::reset_peak_rss();
        const double start = kafka_log::bench::rss_mib();
        for (int i = 0; i < 1000000; ++i) log_one(logger);
        state.counters["peak_rss_above_start_MiB"] = kafka_log::bench::peak_rss_mib() - start;
        logging::core::get()->remove_sink(p.sink);
    }
}

void BM_Memory_ClusterUp_1M(benchmark::State& state) {
    for (auto _ : state) {
        Pipeline& p = real_pipeline();
        logging::core::get()->add_sink(p.sink);
        auto logger = make_logger();
        p.writer->flush(30s);
        const double start = kafka_log::bench::rss_mib();
        kafka_log::bench::reset_peak_rss();
        for (int i = 0; i < 1000000; ++i) log_one(logger);
        p.writer->flush(60s);
        state.counters["peak_rss_above_start_MiB"] = kafka_log::bench::peak_rss_mib() - start;
        state.counters["rss_after_flush_above_start_MiB"] = kafka_log::bench::rss_mib() - start;
        logging::core::get()->remove_sink(p.sink);
    }
}

}  // namespace

BENCHMARK(BM_Raw_Producev)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Raw_ProducevBursts)->UseRealTime();
BENCHMARK(BM_BoostLog_TextFileSink)->Threads(1)->UseRealTime();
BENCHMARK(BM_BoostLog_CoreFilteredRecord)->UseRealTime();
BENCHMARK(BM_BoostLog_DiscardText)->UseRealTime();
BENCHMARK(BM_BoostLog_DiscardJson)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_BoostLog_DiscardMsg)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_BoostLog_DiscardJsonLocalClock)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_KafkaLog_RealProducer)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_KafkaLog_RealProducerLocalClock)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_KafkaLog_RealProducerBursts)->UseRealTime();
BENCHMARK(BM_KafkaLog_RealProducerLocalClockBursts)->UseRealTime();
BENCHMARK(BM_KafkaLog_RealProducerOnCallingThread)->UseRealTime();
BENCHMARK(BM_KafkaLog_RealProducerTwoHeaders)->UseRealTime();
BENCHMARK(BM_KafkaLog_Mock)->UseRealTime();
BENCHMARK(BM_KafkaLog_ClusterDown)->UseRealTime();
BENCHMARK(BM_KafkaLog_ClusterDownSpool)->UseRealTime();
BENCHMARK(BM_KafkaLog_ClusterDownBufferedFallback)->UseRealTime();
BENCHMARK(BM_KafkaLog_AtomicLevelCoreFilter)->UseRealTime();
BENCHMARK(BM_KafkaLog_AtomicLevelSinkFilter)->UseRealTime();
// A round: 4 bursts of 8192; 6 flat-out chunks of 65536 (the written-through fallback's is the
// longest, about 0.25 s here); 2 filtered chunks of 1 Mi records.
BENCHMARK(BM_SideBySide_Bursts)->Iterations(30)->UseManualTime();
BENCHMARK(BM_SideBySide_FlatOut)->Iterations(6)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SideBySide_ClusterDown)->Iterations(6)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SideBySide_Journal)->Iterations(30)->UseManualTime();
BENCHMARK(BM_SideBySide_Headers)->Iterations(30)->UseManualTime();
BENCHMARK(BM_SideBySide_Filtered)->Iterations(20)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_E2E_Raw)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_E2E_KafkaLog)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Memory_ClusterDown_1M)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Memory_ClusterUp_1M)->Iterations(1)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
    start_cluster_process();  // before any thread exists
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
