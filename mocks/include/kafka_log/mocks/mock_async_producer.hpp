// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief MockAsyncProducer: a scripted AsyncProducer for tests without a broker.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "kafka_log/async_producer.hpp"
#include "kafka_log/mocks/error_reporter.hpp"

namespace kafka_log::mocks {

/// \brief Decides whether an input is the one a test expected.
using MessageChecker = std::function<bool(const MessageView&)>;

/// \brief An owning copy of one input of the mock, with what the mock did with it.
struct ProducedMessage {
    std::string topic;
    std::string key;
    std::string payload;
    /// The record headers, in order (a name may repeat).
    std::vector<std::pair<std::string, std::string>> headers;
    /// The record's timestamp as given to `produce` (0: none given).
    std::int64_t timestamp_ms = 0;
    /// What `produce` returned.
    ProduceStatus status = ProduceStatus::accepted;
    /// For an accepted input: the failure it was (or will be) reported with; empty for a
    /// success, or while a held input has no outcome yet.
    std::optional<DeliveryError> error;
    /// True while an input taken by `expect_input_and_hold()` waits for its report.
    bool held = false;
    /// `MessageView::token` as given to `produce`; every report of this input carries it back.
    std::uint64_t token = 0;

    /// \brief The value of the first header named `name`; empty when the input has none.
    std::optional<std::string> header(std::string_view name) const {
        for (const auto& [n, value] : headers) {
            if (n == name) return value;
        }
        return std::nullopt;
    }
};

/// \brief Options of MockAsyncProducer.
struct MockOptions {
    /// false (default): reports are delivered synchronously, inside `produce`, before it
    /// returns. true: they are delivered on the mock's own thread, as a real producer does;
    /// call `wait_until_idle()` before asserting.
    bool threaded = false;
};

/// \brief A scripted AsyncProducer: each input consumes the next expectation, in order.
///
/// Script it before the code under test runs:
/// \code
///   kafka_log::mocks::MockAsyncProducer producer;
///   producer.expect_input_and_succeed()
///           .expect_input_and_fail({-192, "timed out", false})
///           .expect_input_and_reject(kafka_log::ProduceStatus::queue_full);
/// \endcode
///
/// Each input is copied whole (topic, key, payload, headers, timestamp); checkers and delivery
/// reports see views of that copy, so `report.message.headers` and `timestamp_ms` are what the
/// code under test produced, on success and on failure.
///
/// No input is ever lost, even when the script is wrong: an input with no expectation left,
/// or one its checker rejects, is reported to the ErrorReporter and then failed to the
/// delivery handler (`error_codes::mock_unexpected` / `mock_checker_failed`). Expectations
/// left unused are reported by `verify()`, which `close()` and the destructor run.
///
/// Each complaint names a line of the test: a rejected input and an unused expectation the
/// line that scripted that expectation; an input with no expectation left the line that
/// scripted the last expectation (or, when none was scripted, the line that constructed the
/// mock, or the running GoogleTest test's line when the mock was built by `std::make_shared`,
/// whose construction site is in the standard library).
///
/// Each input keeps its Kafka headers: `ProducedMessage::headers` and `header(name)`, and the
/// checkers and matchers of `kafka_log/mocks/header_checks.hpp`.
///
/// Thread safety: every member may be called from any thread. In the default synchronous
/// mode the delivery handler runs on the thread that called `produce`; in threaded mode on
/// the mock's thread. Checkers run on the producing thread, outside the mock's lock.
class MockAsyncProducer final : public AsyncProducer {
public:
    /// \param reporter receives the complaints (default: GoogleTest failures).
    /// \param where    where an input is reported when no expectation was ever scripted
    ///                 (default: the construction; see the class comment for `make_shared`).
    explicit MockAsyncProducer(ErrorReporter& reporter = gtest_reporter(), MockOptions options = {},
                               std::source_location where = std::source_location::current());
    /// \brief Closes (which verifies) if `close` was not called.
    ~MockAsyncProducer() override;

    /// \brief The next input is accepted and reported delivered.
    MockAsyncProducer& expect_input_and_succeed(
        std::source_location where = std::source_location::current());
    /// \brief The next input is accepted and reported failed with `error`.
    MockAsyncProducer& expect_input_and_fail(
        DeliveryError error, std::source_location where = std::source_location::current());
    /// \brief `produce` refuses the next input with `status` (queue_full, too_large, closed).
    MockAsyncProducer& expect_input_and_reject(
        ProduceStatus status, std::source_location where = std::source_location::current());
    /// \brief Like expect_input_and_succeed, if `checker` accepts the input.
    MockAsyncProducer& expect_input_with_checker_and_succeed(
        MessageChecker checker, std::source_location where = std::source_location::current());
    /// \brief Like expect_input_and_fail, if `checker` accepts the input.
    MockAsyncProducer& expect_input_with_checker_and_fail(
        MessageChecker checker, DeliveryError error,
        std::source_location where = std::source_location::current());
    /// \brief The next input is accepted and held in flight: no report until
    /// `release_held()` delivers it, or `close()` purges it (`error_codes::purged_queue`).
    MockAsyncProducer& expect_input_and_hold(
        std::source_location where = std::source_location::current());

    /// \brief Reports every held input as delivered. \return how many were released.
    std::size_t release_held();
    /// \brief Tells the cluster state handler (KafkaWriter's breaker) that the cluster became
    /// `state`, synchronously on the calling thread.
    void set_cluster_state(ClusterState state);

    /// \brief Reports each expectation left unused (once). \return true when none is left.
    bool verify();
    /// \brief Threaded mode: waits until every queued report was handled. Returns at once
    /// in synchronous mode.
    void wait_until_idle();
    /// \brief Owning copies of every input, in arrival order.
    std::vector<ProducedMessage> produced() const;
    /// \brief How many expectations are still waiting for an input.
    std::size_t expectations_left() const;

    void set_delivery_handler(DeliveryHandler handler) override;
    void set_cluster_state_handler(ClusterStateHandler handler) override;
    ProduceStatus produce(const MessageView& message) override;
    /// \brief true when no report is queued and nothing is held.
    bool flush(std::chrono::milliseconds timeout) override;
    /// \brief Drains queued reports, purges held inputs, stops the thread, then verifies.
    void close(std::chrono::milliseconds timeout) override;

private:
    enum class Kind { succeed, fail, reject, hold };
    struct Expectation {
        Kind kind;
        MessageChecker checker;
        DeliveryError error;
        ProduceStatus reject_status;
        std::source_location where;
        std::string what;  // the builder call, for messages
    };
    struct Pending {
        std::size_t index;  // into produced_
        std::optional<DeliveryError> error;
    };

    MockAsyncProducer& push(Expectation expectation);
    void dispatch(std::unique_lock<std::mutex>& lock, Pending pending);
    void deliver(const Pending& pending);
    void run_worker();
    bool idle_locked() const { return queue_.empty() && !worker_busy_; }
    std::string describe_locked(std::size_t index) const;
    /// The test line (file, line) a complaint that no expectation names is reported at.
    std::pair<std::string, int> unexpected_location_locked() const;

    ErrorReporter& reporter_;
    const MockOptions options_;
    const std::source_location where_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    DeliveryHandler handler_;
    ClusterStateHandler state_handler_;
    std::deque<Expectation> expectations_;
    std::optional<std::source_location> last_scripted_;  // the latest expectation's line
    std::deque<ProducedMessage> produced_;  // deque: references stay valid while it grows
    std::vector<std::size_t> held_;
    std::deque<Pending> queue_;  // threaded mode: reports waiting for the worker
    bool worker_busy_ = false;
    bool stopping_ = false;
    bool closed_ = false;
    bool verified_ = false;
    std::once_flag close_once_;
    std::thread worker_;
};

}  // namespace kafka_log::mocks
