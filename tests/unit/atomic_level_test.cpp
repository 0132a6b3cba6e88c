// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/atomic_level.hpp"

#include <memory>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/make_shared.hpp>

#include "kafka_log/boost_log/kafka_sink_backend.hpp"
#include "kafka_log/mocks/mock_async_producer.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

namespace logging = boost::log;
using level = logging::trivial::severity_level;
using ::testing::ElementsAre;

class AtomicLevelTest : public ::testing::Test {
protected:
    void TearDown() override { logging::core::get()->remove_all_sinks(); }
    std::ostringstream text;
};

TEST_F(AtomicLevelTest, ThresholdChangedFromAnotherThreadAppliesToTheNextRecord) {
    auto producer = std::make_shared<mocks::MockAsyncProducer>();
    auto writer = std::make_shared<KafkaWriter>(producer, std::make_shared<StreamFallback>(text),
                                                WriterOptions{.topic = "levels"});
    auto sink = boost::make_shared<logging::sinks::unlocked_sink<KafkaSinkBackend>>(
        boost::make_shared<KafkaSinkBackend>(writer));
    sink->set_formatter(logging::expressions::stream << logging::expressions::smessage);
    AtomicLevel threshold(level::warning);
    sink->set_filter(threshold.filter());
    logging::core::get()->add_sink(sink);
    producer->expect_input_and_succeed().expect_input_and_succeed().expect_input_and_succeed();

    logging::sources::severity_logger<level> logger;
    BOOST_LOG_SEV(logger, level::info) << "info, filtered";
    BOOST_LOG_SEV(logger, level::warning) << "warning, passes";

    std::thread admin(
        [copy = threshold]() mutable { copy.set(level::debug); });  // copies share the threshold
    admin.join();
    EXPECT_EQ(threshold.get(), level::debug);
    BOOST_LOG_SEV(logger, level::debug) << "debug, passes now";
    BOOST_LOG_SEV(logger, level::trace) << "trace, filtered";

    threshold.set(level::fatal);
    EXPECT_FALSE(threshold.enabled(level::error));
    BOOST_LOG_SEV(logger, level::error) << "error, filtered";
    BOOST_LOG_SEV(logger, level::fatal) << "fatal, passes";

    std::vector<std::string> payloads;
    for (const auto& m : producer->produced()) payloads.push_back(m.payload);
    EXPECT_THAT(payloads, ElementsAre("warning, passes", "debug, passes now", "fatal, passes"));
    const WriterStats s = writer->stats();
    EXPECT_TRUE(test::Balanced(s));
    EXPECT_EQ(s.submitted, 3u);
}

TEST_F(AtomicLevelTest, RecordsWithoutSeverityPass) {
    AtomicLevel threshold(level::fatal);
    const logging::filter f = threshold.filter();
    logging::attribute_set empty;
    logging::attribute_value_set values(empty, empty, empty);
    EXPECT_TRUE(f(values));
}

}  // namespace
}  // namespace kafka_log
