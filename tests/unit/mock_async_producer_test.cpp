// SPDX-License-Identifier: Apache-2.0
// The mock's own contract: it reports misuse to its ErrorReporter and never loses an input.
#include "kafka_log/mocks/mock_async_producer.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kafka_log/kafka_writer.hpp"
#include "recording_reporter.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

using mocks::MockAsyncProducer;
using test::Balanced;
using test::RecordingReporter;
using test::split_lines;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

using namespace std::chrono_literals;

/// Collects the reports a producer delivers.
struct ReportLog {
    void attach(AsyncProducer& producer) {
        producer.set_delivery_handler([this](const DeliveryReport& r) {
            std::lock_guard lock(mutex);
            payloads.emplace_back(r.message.payload);
            errors.push_back(r.error);
        });
    }
    std::mutex mutex;
    std::vector<std::string> payloads;
    std::vector<std::optional<DeliveryError>> errors;
};

TEST(MockAsyncProducerTest, ScriptedOutcomesInOrder) {
    RecordingReporter reporter;
    MockAsyncProducer producer(reporter);
    ReportLog log;
    log.attach(producer);
    producer.expect_input_and_succeed()
        .expect_input_and_fail({7, "seven", true})
        .expect_input_and_reject(ProduceStatus::too_large);

    EXPECT_EQ(producer.produce({"t", "", "a"}), ProduceStatus::accepted);
    EXPECT_EQ(producer.produce({"t", "k", "b"}), ProduceStatus::accepted);
    EXPECT_EQ(producer.produce({"t", "", "c"}), ProduceStatus::too_large);

    // Synchronous mode: the reports arrived inside produce().
    ASSERT_THAT(log.payloads, ElementsAre("a", "b"));
    EXPECT_FALSE(log.errors[0].has_value());
    ASSERT_TRUE(log.errors[1].has_value());
    EXPECT_EQ(log.errors[1]->code, 7);
    EXPECT_TRUE(log.errors[1]->possibly_persisted);
    EXPECT_TRUE(producer.verify());
    EXPECT_THAT(reporter.reports(), SizeIs(0));

    const auto produced = producer.produced();
    ASSERT_THAT(produced, SizeIs(3));
    EXPECT_EQ(produced[2].status, ProduceStatus::too_large);
    EXPECT_EQ(produced[1].key, "k");
}

TEST(MockAsyncProducerTest, TooFewInputsAreReportedAtTheExpectationsLine) {
    RecordingReporter reporter;
    {
        MockAsyncProducer producer(reporter);
        producer.set_delivery_handler([](const DeliveryReport&) {});
        producer.expect_input_and_succeed();
        const int line = __LINE__ + 1;
        producer.expect_input_and_fail({1, "x", false});
        producer.expect_input_and_succeed();
        EXPECT_EQ(producer.produce({"t", "", "only one"}), ProduceStatus::accepted);
        EXPECT_FALSE(producer.verify());
        const auto reports = reporter.reports();
        ASSERT_THAT(reports, SizeIs(2));
        EXPECT_THAT(reports[0].message, HasSubstr("2 expectation(s) left"));
        EXPECT_THAT(reports[0].message, HasSubstr("expect_input_and_fail()"));
        EXPECT_EQ(reports[0].line, line);
        EXPECT_THAT(reports[0].file, HasSubstr("mock_async_producer_test.cpp"));
    }
    // Destruction verifies again but does not repeat what verify() already reported.
    EXPECT_THAT(reporter.reports(), SizeIs(2));
}

TEST(MockAsyncProducerTest, DestructorVerifies) {
    RecordingReporter reporter;
    { MockAsyncProducer(reporter).expect_input_and_succeed(); }
    ASSERT_THAT(reporter.reports(), SizeIs(1));
    EXPECT_THAT(reporter.reports()[0].message, HasSubstr("1 expectation(s) left"));
}

TEST(MockAsyncProducerTest, TooManyInputsAreReportedAndFailedNeverLost) {
    RecordingReporter reporter;
    auto producer = std::make_shared<MockAsyncProducer>(reporter);
    producer->expect_input_and_succeed();
    std::ostringstream text;
    KafkaWriter writer(producer, std::make_shared<StreamFallback>(text),
                       WriterOptions{.topic = "t"});
    writer.write("expected");
    writer.write("surplus");

    const auto reports = reporter.reports();
    ASSERT_THAT(reports, SizeIs(1));
    EXPECT_THAT(reports[0].message, HasSubstr("no expectation left"));
    EXPECT_THAT(reports[0].message, HasSubstr("surplus"));
    EXPECT_THAT(split_lines(text.str()), ElementsAre("surplus"));
    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.fallback_delivery_failed, 1u);
    EXPECT_EQ(producer->produced()[1].error->code, error_codes::mock_unexpected);
}

TEST(MockAsyncProducerTest, FailingCheckerIsReportedAndTheRecordFailedNeverLost) {
    RecordingReporter reporter;
    auto producer = std::make_shared<MockAsyncProducer>(reporter);
    const int line = __LINE__ + 2;  // where the expectation is made
    producer
        ->expect_input_with_checker_and_succeed(
            [](const MessageView& m) { return m.key == "user-42"; })
        .expect_input_with_checker_and_fail(
            [](const MessageView& m) { return m.payload == "second"; }, {3, "scripted", false})
        .expect_input_with_checker_and_succeed(
            [](const MessageView&) -> bool { throw std::runtime_error("bad checker"); });
    std::ostringstream text;
    KafkaWriter writer(producer, std::make_shared<StreamFallback>(text),
                       WriterOptions{.topic = "t"});
    writer.write("first", "user-7");  // wrong key
    writer.write("second");           // checker passes: scripted failure
    writer.write("third");            // checker throws

    const auto reports = reporter.reports();
    ASSERT_THAT(reports, SizeIs(2));
    EXPECT_THAT(reports[0].message, HasSubstr("rejected input #1"));
    EXPECT_EQ(reports[0].line, line);
    EXPECT_THAT(reports[1].message, HasSubstr("threw: bad checker"));
    EXPECT_THAT(split_lines(text.str()), ElementsAre("first", "second", "third"));
    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.fallback_delivery_failed, 3u);
    EXPECT_EQ(producer->produced()[0].error->code, error_codes::mock_checker_failed);
    EXPECT_EQ(producer->produced()[1].error->code, 3);
}

TEST(MockAsyncProducerTest, CheckerSeesTheInput) {
    MockAsyncProducer producer;
    ReportLog log;
    log.attach(producer);
    producer.expect_input_with_checker_and_succeed([](const MessageView& m) {
        return m.topic == "orders" && m.key == "k1" && m.payload == "{\"id\":1}";
    });
    EXPECT_EQ(producer.produce({"orders", "k1", "{\"id\":1}"}), ProduceStatus::accepted);
    ASSERT_THAT(log.errors, SizeIs(1));
    EXPECT_FALSE(log.errors[0].has_value());
}

TEST(MockAsyncProducerTest, RejectWithAcceptedIsReportedAsMisuse) {
    RecordingReporter reporter;
    MockAsyncProducer producer(reporter);
    producer.expect_input_and_reject(ProduceStatus::accepted);
    ASSERT_THAT(reporter.reports(), SizeIs(1));
    EXPECT_THAT(reporter.reports()[0].message, HasSubstr("rejects nothing"));
    ReportLog log;
    log.attach(producer);
    EXPECT_EQ(producer.produce({"t", "", "x"}), ProduceStatus::accepted);
    EXPECT_THAT(log.payloads, ElementsAre("x"));
}

TEST(MockAsyncProducerTest, ThreadedModeDeliversOnItsOwnThread) {
    MockAsyncProducer producer(mocks::gtest_reporter(), {.threaded = true});
    std::mutex mutex;
    std::vector<std::thread::id> threads;
    producer.set_delivery_handler([&](const DeliveryReport&) {
        std::lock_guard lock(mutex);
        threads.push_back(std::this_thread::get_id());
    });
    for (int i = 0; i < 100; ++i) producer.expect_input_and_succeed();
    for (int i = 0; i < 100; ++i) producer.produce({"t", "", "x"});
    producer.wait_until_idle();
    std::lock_guard lock(mutex);
    ASSERT_THAT(threads, SizeIs(100));
    for (const auto& id : threads) EXPECT_NE(id, std::this_thread::get_id());
}

TEST(MockAsyncProducerTest, CloseDrainsQueuedReportsAndPurgesHeldOnesBeforeReturning) {
    RecordingReporter reporter;
    MockAsyncProducer producer(reporter, {.threaded = true});
    ReportLog log;
    log.attach(producer);
    producer.expect_input_and_succeed().expect_input_and_hold().expect_input_and_succeed();
    producer.produce({"t", "", "a"});
    producer.produce({"t", "", "held"});
    producer.produce({"t", "", "c"});
    producer.close(1s);
    ASSERT_THAT(log.payloads, SizeIs(3));
    EXPECT_EQ(log.payloads[2], "held") << "the purge is reported last, after the drain";
    ASSERT_TRUE(log.errors[2].has_value());
    EXPECT_TRUE(error_codes::is_purge(log.errors[2]->code));
    EXPECT_EQ(producer.produce({"t", "", "after close"}), ProduceStatus::closed);
    EXPECT_THAT(log.payloads, SizeIs(3));
    EXPECT_THAT(reporter.reports(), SizeIs(0)) << "a closed producer refuses without complaint";
}

TEST(MockAsyncProducerTest, ProducedKeepsOwningCopies) {
    MockAsyncProducer producer;
    producer.set_delivery_handler([](const DeliveryReport&) {});
    producer.expect_input_and_succeed();
    std::string buffer = "original";
    producer.produce({"t", "", buffer});
    buffer = "overwritten";
    EXPECT_EQ(producer.produced()[0].payload, "original");
}

TEST(MockAsyncProducerTest, HandlerMissingIsReported) {
    RecordingReporter reporter;
    MockAsyncProducer producer(reporter);
    producer.expect_input_and_succeed();
    producer.produce({"t", "", "x"});
    ASSERT_THAT(reporter.reports(), SizeIs(1));
    EXPECT_THAT(reporter.reports()[0].message, HasSubstr("no delivery handler"));
}

// --- headers and timestamp -------------------------------------------------------------

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Owning copies of what each report carried: payload, headers, timestamp, error.
struct MetadataLog {
    struct Entry {
        std::string payload;
        Headers headers;
        std::int64_t timestamp_ms = 0;
        std::optional<DeliveryError> error;
    };
    void attach(AsyncProducer& producer) {
        producer.set_delivery_handler([this](const DeliveryReport& r) {
            Entry entry{std::string(r.message.payload), {}, r.message.timestamp_ms, r.error};
            for (const RecordHeader& h : r.message.headers)
                entry.headers.emplace_back(h.name, h.value);
            std::lock_guard lock(mutex);
            entries.push_back(std::move(entry));
        });
    }
    std::vector<Entry> snapshot() {
        std::lock_guard lock(mutex);
        return entries;
    }
    std::mutex mutex;
    std::vector<Entry> entries;
};

/// Header storage a test overwrites right after produce(), to prove the mock copied it.
struct HeaderBuffers {
    std::string name = "trace";
    std::string first = "abc";
    std::string second = std::string("a\0b", 3);
    std::vector<RecordHeader> views() const { return {{name, first}, {name, second}}; }
    void scribble() {
        name.assign(name.size(), '#');
        first.assign(first.size(), '#');
        second.assign(second.size(), '#');
    }
};

const Headers expected_headers{{"trace", "abc"}, {"trace", std::string("a\0b", 3)}};
constexpr std::int64_t fixed_time = 1700000000123;

TEST(MockAsyncProducerTest, CopiesHeadersAndTimestampAndReportsThemOnSuccessAndFailure) {
    RecordingReporter reporter;
    MockAsyncProducer producer(reporter);
    MetadataLog log;
    log.attach(producer);
    producer.expect_input_and_succeed()
        .expect_input_and_fail({7, "seven", false})
        .expect_input_and_succeed();

    for (const char* payload : {"ok", "failed"}) {
        HeaderBuffers buffers;
        const auto views = buffers.views();
        ASSERT_EQ(producer.produce({"t", "k", payload, views, fixed_time}),
                  ProduceStatus::accepted);
        buffers.scribble();  // the caller reuses its buffers at once
    }
    ASSERT_EQ(producer.produce({"t", "", "plain"}), ProduceStatus::accepted);

    const auto entries = log.snapshot();
    ASSERT_THAT(entries, SizeIs(3));
    EXPECT_EQ(entries[0].headers, expected_headers);
    EXPECT_EQ(entries[0].timestamp_ms, fixed_time);
    EXPECT_FALSE(entries[0].error.has_value());
    EXPECT_EQ(entries[1].headers, expected_headers) << "a failure carries the headers too";
    EXPECT_EQ(entries[1].timestamp_ms, fixed_time);
    ASSERT_TRUE(entries[1].error.has_value());
    EXPECT_EQ(entries[1].error->code, 7);
    EXPECT_THAT(entries[2].headers, IsEmpty());
    EXPECT_EQ(entries[2].timestamp_ms, 0);

    const auto produced = producer.produced();
    ASSERT_THAT(produced, SizeIs(3));
    EXPECT_EQ(produced[0].headers, expected_headers);
    EXPECT_EQ(produced[0].timestamp_ms, fixed_time);
    EXPECT_EQ(produced[1].headers, expected_headers);
    EXPECT_THAT(produced[2].headers, IsEmpty());
    EXPECT_EQ(produced[2].timestamp_ms, 0);
    EXPECT_THAT(reporter.reports(), SizeIs(0));
}

TEST(MockAsyncProducerTest, EveryReportCarriesItsInputsTokenBack) {
    for (const bool threaded : {false, true}) {
        SCOPED_TRACE(threaded ? "threaded" : "synchronous");
        RecordingReporter reporter;
        MockAsyncProducer producer(reporter, mocks::MockOptions{.threaded = threaded});
        std::mutex mutex;
        std::vector<std::pair<std::string, std::uint64_t>> seen;
        producer.set_delivery_handler([&](const DeliveryReport& r) {
            std::lock_guard lock(mutex);
            seen.emplace_back(std::string(r.message.payload), r.message.token);
        });
        producer.expect_input_and_succeed()
            .expect_input_and_fail({7, "seven", false})
            .expect_input_and_hold()
            .expect_input_and_hold()
            .expect_input_and_reject(ProduceStatus::queue_full);
        auto produce = [&](std::string_view payload, std::uint64_t token) {
            MessageView m{"t", "", payload};
            m.token = token;
            return producer.produce(m);
        };
        ASSERT_EQ(produce("succeeded", 1), ProduceStatus::accepted);
        ASSERT_EQ(produce("failed", 2), ProduceStatus::accepted);
        ASSERT_EQ(produce("held, released", 3), ProduceStatus::accepted);
        EXPECT_EQ(producer.release_held(), 1u);
        ASSERT_EQ(produce("held, purged", 4), ProduceStatus::accepted);
        ASSERT_EQ(produce("rejected", 5), ProduceStatus::queue_full);
        ASSERT_EQ(produce("unexpected", 6), ProduceStatus::accepted);
        producer.close(1s);  // purges the held one

        const auto produced = producer.produced();
        ASSERT_THAT(produced, SizeIs(6));
        for (std::size_t i = 0; i < produced.size(); ++i) EXPECT_EQ(produced[i].token, i + 1);
        std::lock_guard lock(mutex);
        EXPECT_THAT(seen, UnorderedElementsAre(Pair("succeeded", 1u), Pair("failed", 2u),
                                               Pair("held, released", 3u), Pair("held, purged", 4u),
                                               Pair("unexpected", 6u)));
        EXPECT_THAT(reporter.reports(), SizeIs(1)) << "the unexpected input";
    }
}

TEST(MockAsyncProducerTest, CheckerSeesHeadersAndTimestamp) {
    RecordingReporter reporter;
    MockAsyncProducer producer(reporter);
    MetadataLog log;
    log.attach(producer);
    const auto wants_trace = [](const MessageView& m) {
        return m.headers.size() == 2 && m.headers[0].name == "trace" &&
               m.headers[1].value == std::string("a\0b", 3) && m.timestamp_ms == fixed_time;
    };
    producer.expect_input_with_checker_and_succeed(wants_trace)
        .expect_input_with_checker_and_succeed(wants_trace);
    HeaderBuffers buffers;
    const auto views = buffers.views();
    producer.produce({"t", "", "traced", views, fixed_time});
    producer.produce({"t", "", "untraced"});  // the checker says no: reported and failed

    const auto entries = log.snapshot();
    ASSERT_THAT(entries, SizeIs(2));
    EXPECT_FALSE(entries[0].error.has_value());
    ASSERT_TRUE(entries[1].error.has_value());
    EXPECT_EQ(entries[1].error->code, error_codes::mock_checker_failed);
    EXPECT_THAT(reporter.reports(), SizeIs(1));
}

TEST(MockAsyncProducerTest, ThreadedHeldUnexpectedAndUnscriptedInputsReportTheirHeaders) {
    RecordingReporter reporter;
    MockAsyncProducer producer(reporter, {.threaded = true});
    MetadataLog log;
    log.attach(producer);
    producer.expect_input_and_succeed().expect_input_and_hold().expect_input_and_fail(
        {3, "scripted", false});
    for (const char* payload : {"queued", "held", "failed", "unexpected"}) {
        HeaderBuffers buffers;
        const auto views = buffers.views();
        producer.produce({"t", "", payload, views, fixed_time});
        buffers.scribble();
    }
    producer.wait_until_idle();
    EXPECT_THAT(log.snapshot(), SizeIs(3)) << "all but the held one";
    producer.close(1s);  // purges the held input

    const auto entries = log.snapshot();
    ASSERT_THAT(entries, SizeIs(4));
    for (const auto& entry : entries) {
        EXPECT_EQ(entry.headers, expected_headers) << entry.payload;
        EXPECT_EQ(entry.timestamp_ms, fixed_time) << entry.payload;
    }
    EXPECT_EQ(entries[3].payload, "held");
    ASSERT_TRUE(entries[3].error.has_value());
    EXPECT_TRUE(error_codes::is_purge(entries[3].error->code));
    ASSERT_THAT(reporter.reports(), SizeIs(1));
    EXPECT_THAT(reporter.reports()[0].message, HasSubstr("no expectation left"));
}

TEST(MockAsyncProducerTest, ReleasedHeldInputReportsItsHeaders) {
    MockAsyncProducer producer;
    MetadataLog log;
    log.attach(producer);
    producer.expect_input_and_hold();
    {
        HeaderBuffers buffers;
        const auto views = buffers.views();
        producer.produce({"t", "", "held", views, fixed_time});
        buffers.scribble();
    }
    EXPECT_THAT(log.snapshot(), IsEmpty());
    EXPECT_EQ(producer.release_held(), 1u);
    const auto entries = log.snapshot();
    ASSERT_THAT(entries, SizeIs(1));
    EXPECT_FALSE(entries[0].error.has_value());
    EXPECT_EQ(entries[0].headers, expected_headers);
    EXPECT_EQ(entries[0].timestamp_ms, fixed_time);
}

// (The mock no longer has a load-test mode that keeps nothing: the benchmark has a producer
// of its own. What that mode's test asked, that the report carries the input's headers and
// timestamp after the caller's buffers are gone, holds in both delivery modes.)
TEST(MockAsyncProducerTest, ScriptedInputsReportTheirHeadersInBothModes) {
    for (const bool threaded : {false, true}) {
        MockAsyncProducer producer(mocks::gtest_reporter(), {.threaded = threaded});
        producer.expect_input_and_succeed();
        MetadataLog log;
        log.attach(producer);
        {
            HeaderBuffers buffers;
            const auto views = buffers.views();
            producer.produce({"t", "", "load", views, fixed_time});
            buffers.scribble();
        }
        producer.wait_until_idle();
        const auto entries = log.snapshot();
        ASSERT_THAT(entries, SizeIs(1)) << "threaded=" << threaded;
        EXPECT_EQ(entries[0].headers, expected_headers) << "threaded=" << threaded;
        EXPECT_EQ(entries[0].timestamp_ms, fixed_time) << "threaded=" << threaded;
        ASSERT_THAT(producer.produced(), SizeIs(1)) << "threaded=" << threaded;
        EXPECT_EQ(producer.produced()[0].payload, "load") << "threaded=" << threaded;
    }
}

}  // namespace
}  // namespace kafka_log
