// SPDX-License-Identifier: Apache-2.0
// Where MockAsyncProducer reports a broken script (a line of the test, also when the mock was
// built by std::make_shared), and the header checkers and matcher of the mocks.
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kafka_log/kafka_writer.hpp"
#include "kafka_log/mocks/gmock_async_producer.hpp"
#include "kafka_log/mocks/header_checks.hpp"
#include "kafka_log/mocks/mock_async_producer.hpp"
#include "recording_reporter.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

using mocks::GMockAsyncProducer;
using mocks::HasHeader;
using mocks::MockAsyncProducer;
using test::Balanced;
using test::RecordingReporter;
using test::Report;
using ::testing::_;
using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Not;
using ::testing::Return;

using namespace std::chrono_literals;

/// A writer on `producer` whose fallback is `text`.
std::unique_ptr<KafkaWriter> writer_on(std::shared_ptr<AsyncProducer> producer,
                                       std::ostringstream& text) {
    return std::make_unique<KafkaWriter>(
        std::move(producer), std::make_shared<StreamFallback>(text), WriterOptions{.topic = "t"});
}

TEST(MockLocationTest, AnUnexpectedInputIsReportedAtTheLineThatScriptedTheLastExpectation) {
    RecordingReporter reporter;
    auto producer = std::make_shared<MockAsyncProducer>(reporter);
    producer->expect_input_and_succeed();
    const int line = __LINE__ + 1;
    producer->expect_input_and_fail({error_codes::message_timed_out, "timed out", false});
    std::ostringstream text;
    auto writer = writer_on(producer, text);
    writer->write("one");
    writer->write("two");
    writer->write("surplus");
    writer->close(0ms);

    const std::vector<Report> reports = reporter.reports();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].file, __FILE__) << "not the standard library's stl_construct.h";
    EXPECT_EQ(reports[0].line, line);
    EXPECT_THAT(reports[0].message, AllOf(HasSubstr("input #3"), HasSubstr("'surplus'"),
                                          HasSubstr("no expectation left")));
    EXPECT_TRUE(Balanced(writer->stats()));
    EXPECT_EQ(text.str(), "two\nsurplus\n") << "the surplus input is failed, never lost";
}

TEST(MockLocationTest, ARejectedInputIsReportedAtItsExpectationsLineWithItsHeaders) {
    RecordingReporter reporter;
    auto producer = std::make_shared<MockAsyncProducer>(reporter);
    const int line = __LINE__ + 1;
    producer->expect_input_with_checker_and_succeed(mocks::has_header("TraceID", "wanted"));
    std::ostringstream text;
    auto writer = writer_on(producer, text);
    const RecordHeader headers[] = {{"TraceID", "other"}};
    writer->write("rec", {}, headers);
    writer->close(0ms);

    const std::vector<Report> reports = reporter.reports();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].file, __FILE__);
    EXPECT_EQ(reports[0].line, line);
    EXPECT_THAT(reports[0].message, HasSubstr("header TraceID=other"));
    EXPECT_EQ(text.str(), "rec\n");
    EXPECT_TRUE(Balanced(writer->stats()));
}

TEST(MockLocationTest, AnInputToAMakeSharedMockNeverScriptedIsReportedAtTheRunningTest) {
    RecordingReporter reporter;
    auto producer = std::make_shared<MockAsyncProducer>(reporter);
    std::ostringstream text;
    auto writer = writer_on(producer, text);
    writer->write("unscripted");
    writer->close(0ms);

    const std::vector<Report> reports = reporter.reports();
    ASSERT_EQ(reports.size(), 1u);
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    EXPECT_EQ(reports[0].file, __FILE__);
    EXPECT_EQ(reports[0].line, test->line());
    EXPECT_EQ(text.str(), "unscripted\n");
}

TEST(MockLocationTest, AnInputToADirectlyBuiltMockNeverScriptedIsReportedAtItsConstruction) {
    RecordingReporter reporter;
    const int line = __LINE__ + 1;
    auto producer = std::shared_ptr<MockAsyncProducer>(new MockAsyncProducer(reporter));
    std::ostringstream text;
    auto writer = writer_on(producer, text);
    writer->write("unscripted");
    writer->close(0ms);

    const std::vector<Report> reports = reporter.reports();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].file, __FILE__);
    EXPECT_EQ(reports[0].line, line);
}

TEST(MockLocationTest, UnusedExpectationsOfAMakeSharedMockAreReportedAtTheirLines) {
    RecordingReporter reporter;
    int line = 0;
    {
        auto producer = std::make_shared<MockAsyncProducer>(reporter);
        line = __LINE__ + 1;
        producer->expect_input_and_succeed();
    }
    const std::vector<Report> reports = reporter.reports();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].file, __FILE__);
    EXPECT_EQ(reports[0].line, line);
}

TEST(MockHeaderChecksTest, CheckersAndTheMatcherSeeTheHeaders) {
    const RecordHeader headers[] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
    const MessageView view{"t", "", "p", headers};
    EXPECT_EQ(mocks::header_value(view, "a"), "1") << "the first of a repeated name";
    EXPECT_EQ(mocks::header_value(view, "c"), std::nullopt);
    EXPECT_TRUE(mocks::has_header("b", "2")(view));
    EXPECT_FALSE(mocks::has_header("b", "3")(view));
    EXPECT_FALSE(mocks::has_header("c", "")(view));
    EXPECT_TRUE(mocks::has_headers({{"a", "1"}, {"b", "2"}, {"a", "3"}})(view));
    EXPECT_FALSE(mocks::has_headers({{"a", "1"}, {"b", "2"}})(view));
    EXPECT_TRUE(mocks::lacks_header("c")(view));
    EXPECT_FALSE(mocks::lacks_header("a")(view));
    EXPECT_THAT(view, HasHeader("b", "2"));
    EXPECT_THAT(view, Not(HasHeader("b", "3")));
    EXPECT_THAT(view, Not(HasHeader("c", "")));
    EXPECT_EQ(::testing::DescribeMatcher<MessageView>(HasHeader("b", "2")),
              "has a header \"b\" with value \"2\"");
}

TEST(MockHeaderChecksTest, TheGMockProducerMatchesOnHeadersAndTheFakeRecordsThem) {
    auto producer = std::make_shared<NiceMock<GMockAsyncProducer>>();
    producer->delegate_to_fake();
    producer->fake().expect_input_and_succeed().expect_input_and_succeed();
    EXPECT_CALL(*producer, produce(HasHeader("Service", "billing"))).Times(2);
    std::ostringstream text;
    auto writer = writer_on(producer, text);
    const RecordHeader headers[] = {{"Service", "billing"}};
    writer->write("one", {}, headers);
    writer->write("two", "k", headers);
    writer->close(0ms);
    EXPECT_THAT(producer->fake().produced(), Each(HasHeader("Service", "billing")));
    EXPECT_TRUE(Balanced(writer->stats()));
    EXPECT_EQ(writer->stats().delivered, 2u);
}

}  // namespace
}  // namespace kafka_log
