// SPDX-License-Identifier: Apache-2.0
// Formatting cost per record: kafka_log::json_formatter against Boost.Log's own text
// formatter on the same record (timestamp, severity, message, two attributes); and the
// optional parts of a JSON record: an attribute of a type written through its operator<<
// (register_json_stream_type) and a record id, on one thread and on two.
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

/// An attribute type of the service's own, written through its operator<<.
struct OrderId {
    unsigned long long value;
};
std::ostream& operator<<(std::ostream& os, const OrderId& id) {
    return os << "ord-" << id.value;
}

logging::record_view make_record(bool streamed = false) {
    auto backend = boost::make_shared<KeepLast>();
    auto sink = boost::make_shared<logging::sinks::unlocked_sink<KeepLast>>(backend);
    logging::core::get()->add_sink(sink);
    logging::sources::severity_logger<level> logger;
    logger.add_attribute("TimeStamp", logging::attributes::constant<boost::posix_time::ptime>(
                                          boost::posix_time::microsec_clock::local_time()));
    logger.add_attribute("Service", logging::attributes::constant<std::string>("checkout"));
    logger.add_attribute("Answer", logging::attributes::constant<int>(42));
    if (streamed)
        logger.add_attribute("Order", logging::attributes::constant<OrderId>(OrderId{20261203}));
    BOOST_LOG_SEV(logger, level::info) << "order placed for customer 1234";
    logging::core::get()->remove_sink(sink);
    return backend->last;
}

void run(benchmark::State& state, const logging::formatter& formatter, bool streamed = false) {
    const logging::record_view record = make_record(streamed);
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

void BM_KafkaLogJsonFormatter(benchmark::State& state) {
    run(state, kafka_log::json_formatter());
}

void BM_BoostTextFormatter(benchmark::State& state) {
    const logging::formatter text = expr::stream
                                    << "["
                                    << expr::format_date_time<boost::posix_time::ptime>(
                                           "TimeStamp", "%Y-%m-%d %H:%M:%S.%f")
                                    << "] [" << logging::trivial::severity << "] " << expr::smessage
                                    << " Service=" << expr::attr<std::string>("Service")
                                    << " Answer=" << expr::attr<int>("Answer");
    run(state, text);
}

void BM_KafkaLogJsonFormatterStreamedType(benchmark::State& state) {
    static const bool registered = (kafka_log::register_json_stream_type<OrderId>(), true);
    static_cast<void>(registered);
    static const logging::formatter formatter = kafka_log::json_formatter();
    run(state, formatter, true);
}

void BM_KafkaLogJsonFormatterRecordId(benchmark::State& state) {
    static const logging::formatter formatter =
        kafka_log::json_formatter(kafka_log::JsonOptions{.record_id_key = "id"});
    run(state, formatter);
}

}  // namespace

BENCHMARK(BM_KafkaLogJsonFormatter);
BENCHMARK(BM_BoostTextFormatter);
BENCHMARK(BM_KafkaLogJsonFormatterStreamedType)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_KafkaLogJsonFormatterRecordId)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_MAIN();
