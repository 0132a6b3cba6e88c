// SPDX-License-Identifier: Apache-2.0
// Formatting cost per record: kafka_log::json_formatter against Boost.Log's own text
// formatter on the same record (timestamp, severity, message, two attributes).
//
//   kafka_log_bench_json --benchmark_min_time=0.5
#include <string>

#include <benchmark/benchmark.h>
#include <boost/date_time/posix_time/posix_time.hpp>
#include <boost/log/attributes/constant.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/basic_sink_backend.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/support/date_time.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/formatting_ostream.hpp>
#include <boost/make_shared.hpp>

#include "kafka_log/boost_log/json_formatter.hpp"

namespace {

namespace logging = boost::log;
namespace expr = boost::log::expressions;
using level = logging::trivial::severity_level;

/// A sink that keeps the last record, so the benchmark formats a real record_view.
struct KeepLast : logging::sinks::basic_sink_backend<logging::sinks::concurrent_feeding> {
    void consume(const logging::record_view& r) { last = r; }
    logging::record_view last;
};

logging::record_view make_record() {
    auto backend = boost::make_shared<KeepLast>();
    auto sink = boost::make_shared<logging::sinks::unlocked_sink<KeepLast>>(backend);
    logging::core::get()->add_sink(sink);
    logging::sources::severity_logger<level> logger;
    logger.add_attribute("TimeStamp", logging::attributes::constant<boost::posix_time::ptime>(
                                          boost::posix_time::microsec_clock::local_time()));
    logger.add_attribute("Service", logging::attributes::constant<std::string>("checkout"));
    logger.add_attribute("Answer", logging::attributes::constant<int>(42));
    BOOST_LOG_SEV(logger, level::info) << "order placed for customer 1234";
    logging::core::get()->remove_sink(sink);
    return backend->last;
}

void run(benchmark::State& state, const logging::formatter& formatter) {
    const logging::record_view record = make_record();
    std::string line;
    logging::formatting_ostream stream(line);
    for (auto _ : state) {
        line.clear();
        formatter(record, stream);
        stream.flush();
        benchmark::DoNotOptimize(line.data());
    }
    state.counters["bytes"] = static_cast<double>(line.size());
}

void BM_KafkaLogJsonFormatter(benchmark::State& state) { run(state, kafka_log::json_formatter()); }

void BM_BoostTextFormatter(benchmark::State& state) {
    const logging::formatter text =
        expr::stream << "[" << expr::format_date_time<boost::posix_time::ptime>("TimeStamp", "%Y-%m-%d %H:%M:%S.%f")
                     << "] [" << logging::trivial::severity << "] " << expr::smessage << " Service="
                     << expr::attr<std::string>("Service") << " Answer=" << expr::attr<int>("Answer");
    run(state, text);
}

}  // namespace

BENCHMARK(BM_KafkaLogJsonFormatter);
BENCHMARK(BM_BoostTextFormatter);
BENCHMARK_MAIN();
