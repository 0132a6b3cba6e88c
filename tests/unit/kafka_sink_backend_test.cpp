// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/kafka_sink_backend.hpp"

#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/log/attributes/constant.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/async_frontend.hpp>
#include <boost/log/sinks/block_on_overflow.hpp>
#include <boost/log/sinks/bounded_fifo_queue.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/trivial.hpp>
#include <boost/make_shared.hpp>

#include "kafka_log/mocks/mock_async_producer.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

namespace logging = boost::log;
namespace sinks = boost::log::sinks;
namespace expr = boost::log::expressions;

using mocks::MockAsyncProducer;
using test::Balanced;
using test::read_lines;
using test::TempDir;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

using namespace std::chrono_literals;

/// Every test leaves Boost.Log's global core as it found it: no sinks.
class KafkaSinkBackendTest : public ::testing::Test {
protected:
    void TearDown() override { logging::core::get()->remove_all_sinks(); }

    // A member, so it outlives the sinks that TearDown removes (a StreamFallback's stream
    // must outlive its writer).
    std::ostringstream text;

    template <typename Frontend>
    boost::shared_ptr<Frontend> add_sink(std::shared_ptr<KafkaWriter> writer,
                                         SinkOptions options = {}) {
        auto backend = boost::make_shared<KafkaSinkBackend>(std::move(writer), std::move(options));
        auto sink = boost::make_shared<Frontend>(backend);
        sink->set_formatter(expr::stream << expr::smessage);
        logging::core::get()->add_sink(sink);
        return sink;
    }
};

// The seed's scenario: two records logged through Boost.Log whose inputs the producer fails
// must both be in the fallback, and every record is accounted for.
TEST_F(KafkaSinkBackendTest, SeedScenarioBothFailedRecordsLandInFallback) {
    TempDir dir;
    auto producer = std::make_shared<MockAsyncProducer>();
    producer
        ->expect_input_and_fail({error_codes::message_timed_out, "Local: Message timed out", false})
        .expect_input_and_fail({error_codes::message_timed_out, "Local: Message timed out", false});
    auto writer = std::make_shared<KafkaWriter>(
        producer, std::make_shared<FileFallback>(dir / "fallback.log"),
        WriterOptions{.topic = "seed-logs"});
    auto sink = add_sink<sinks::unlocked_sink<KafkaSinkBackend>>(writer);

    logging::sources::severity_logger<logging::trivial::severity_level> logger;
    BOOST_LOG_SEV(logger, logging::trivial::info) << "log to kafka 1";
    BOOST_LOG_SEV(logger, logging::trivial::error) << "log to kafka 2";

    logging::core::get()->remove_sink(sink);
    sink->flush();
    writer->close(1s);

    EXPECT_THAT(read_lines(dir / "fallback.log"), ElementsAre("log to kafka 1", "log to kafka 2"));
    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, 2u);
    EXPECT_EQ(s.fallback_delivery_failed, 2u);
    EXPECT_EQ(s.delivered + s.lost + s.in_flight, 0u);
}

TEST_F(KafkaSinkBackendTest, KeyComesFromTheNamedAttribute) {
    auto producer = std::make_shared<MockAsyncProducer>();
    auto key_is = [](std::string key) {
        return [key](const MessageView& m) { return m.key == key; };
    };
    producer->expect_input_with_checker_and_succeed(key_is("trace-abc"))
        .expect_input_with_checker_and_succeed(key_is("4711"))
        .expect_input_with_checker_and_succeed(key_is(""));
    auto writer = std::make_shared<KafkaWriter>(producer, std::make_shared<StreamFallback>(text),
                                                WriterOptions{.topic = "keyed"});
    add_sink<sinks::unlocked_sink<KafkaSinkBackend>>(writer,
                                                     SinkOptions{.key_attribute = "TraceID"});

    logging::sources::logger with_string;
    with_string.add_attribute("TraceID", logging::attributes::constant<std::string>("trace-abc"));
    BOOST_LOG(with_string) << "string key";
    logging::sources::logger with_int;
    with_int.add_attribute("TraceID", logging::attributes::constant<int>(4711));
    BOOST_LOG(with_int) << "integer key";
    logging::sources::logger without;
    BOOST_LOG(without) << "no key";

    EXPECT_THAT(text.str(), IsEmpty()) << "a checker rejected a key";
    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, 3u);
}

TEST_F(KafkaSinkBackendTest, CoreFlushWaitsForTheProducer) {
    auto producer = std::make_shared<MockAsyncProducer>(mocks::gtest_reporter(),
                                                        mocks::MockOptions{.threaded = true});
    for (int i = 0; i < 500; ++i) producer->expect_input_and_succeed();
    auto writer = std::make_shared<KafkaWriter>(producer, std::make_shared<StreamFallback>(text),
                                                WriterOptions{.topic = "flushed"});
    add_sink<sinks::unlocked_sink<KafkaSinkBackend>>(writer);
    logging::sources::logger logger;
    for (int i = 0; i < 500; ++i) BOOST_LOG(logger) << "record " << i;

    logging::core::get()->flush();  // reaches KafkaSinkBackend::flush only with `flushing`

    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s.delivered, 500u);
}

// 8 threads x 10 000 records through Boost.Log, a threaded mock failing every third input:
// every record is exactly once in delivered U fallback.
TEST_F(KafkaSinkBackendTest, EightThreadsEveryRecordExactlyOnceInDeliveredOrFallback) {
    constexpr int threads = 8;
    constexpr int per_thread = 10000;
    constexpr int total = threads * per_thread;
    TempDir dir;
    auto producer = std::make_shared<MockAsyncProducer>(mocks::gtest_reporter(),
                                                        mocks::MockOptions{.threaded = true});
    for (int i = 0; i < total; ++i) {
        if (i % 3 == 2) {
            producer->expect_input_and_fail({error_codes::message_timed_out, "timed out", false});
        } else {
            producer->expect_input_and_succeed();
        }
    }
    auto writer = std::make_shared<KafkaWriter>(
        producer, std::make_shared<FileFallback>(dir / "fallback.log"),
        WriterOptions{.topic = "concurrent"});
    auto sink = add_sink<sinks::unlocked_sink<KafkaSinkBackend>>(writer);

    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([t] {
            logging::sources::logger logger;
            for (int i = 0; i < per_thread; ++i) BOOST_LOG(logger) << "t" << t << "-" << i;
        });
    }
    for (auto& w : workers) w.join();
    logging::core::get()->remove_sink(sink);
    sink->flush();
    writer->close(5s);

    std::multiset<std::string> seen;
    for (const auto& m : producer->produced()) {
        if (m.status == ProduceStatus::accepted && !m.error) seen.insert(m.payload);
    }
    const std::size_t delivered = seen.size();
    for (const auto& line : read_lines(dir / "fallback.log")) seen.insert(line);
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(total));
    for (int t = 0; t < threads; ++t) {
        for (int i = 0; i < per_thread; ++i) {
            const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
            ASSERT_EQ(seen.count(id), 1u) << id;
        }
    }
    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(total));
    EXPECT_EQ(s.delivered, delivered);
    EXPECT_EQ(s.fallback_delivery_failed, static_cast<std::uint64_t>(total / 3));
    EXPECT_EQ(s.in_flight + s.lost, 0u);
}

TEST_F(KafkaSinkBackendTest, WorksBehindSynchronousSink) {
    auto producer = std::make_shared<MockAsyncProducer>();
    producer->expect_input_and_succeed().expect_input_and_reject(ProduceStatus::queue_full);
    auto writer = std::make_shared<KafkaWriter>(producer, std::make_shared<StreamFallback>(text),
                                                WriterOptions{.topic = "sync"});
    add_sink<sinks::synchronous_sink<KafkaSinkBackend>>(writer);
    logging::sources::logger logger;
    BOOST_LOG(logger) << "one";
    BOOST_LOG(logger) << "two";
    EXPECT_EQ(text.str(), "two\n");
    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.fallback_queue_full, 1u);
}

// The documented shutdown order with an asynchronous frontend loses nothing.
TEST_F(KafkaSinkBackendTest, AsynchronousSinkShutdownOrderLosesNothing) {
    using AsyncSink =
        sinks::asynchronous_sink<KafkaSinkBackend,
                                 sinks::bounded_fifo_queue<1024, sinks::block_on_overflow>>;
    constexpr int total = 3000;
    auto producer = std::make_shared<MockAsyncProducer>(mocks::gtest_reporter(),
                                                        mocks::MockOptions{.threaded = true});
    for (int i = 0; i < total; ++i) {
        if (i % 2 == 0) {
            producer->expect_input_and_succeed();
        } else {
            producer->expect_input_and_hold();
        }
    }
    auto writer = std::make_shared<KafkaWriter>(producer, std::make_shared<StreamFallback>(text),
                                                WriterOptions{.topic = "async"});
    auto sink = add_sink<AsyncSink>(writer);
    logging::sources::logger logger;
    for (int i = 0; i < total; ++i) BOOST_LOG(logger) << "async " << i;

    logging::core::get()->remove_sink(sink);  // 1. no new records
    sink->stop();                             // 2. drain the frontend's queue
    sink->flush();                            // 3. wait for Kafka (held records stay in flight)
    writer->close(0ms);                       // 4. purge the rest into the fallback

    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(total));
    EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(total / 2));
    EXPECT_EQ(s.fallback_closed, static_cast<std::uint64_t>(total / 2));
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(test::split_lines(text.str()).size(), static_cast<std::size_t>(total / 2));
}

TEST_F(KafkaSinkBackendTest, NullWriterIsRejected) {
    EXPECT_THROW(KafkaSinkBackend(nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace kafka_log
