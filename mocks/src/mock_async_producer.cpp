// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/mocks/mock_async_producer.hpp"

#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>
#include <vector>

namespace kafka_log::mocks {

namespace {

constexpr std::size_t excerpt_limit = 80;

std::string excerpt(std::string_view text) {
    std::string out(text.substr(0, excerpt_limit));
    if (text.size() > excerpt_limit) out += "...";
    return out;
}

std::string location(const std::source_location& where) {
    return std::string(where.file_name()) + ":" + std::to_string(where.line());
}

/// True for a location inside the C++ standard library's headers (libstdc++, libc++): where
/// std::make_shared and std::construct_at call a constructor.
bool in_standard_library(const std::source_location& where) {
    const std::string_view file = where.file_name();
    return file.find("/c++/") != std::string_view::npos ||
           file.find("/bits/") != std::string_view::npos ||
           file.find("/include/c++") != std::string_view::npos;
}

/// An owning copy of an input, accepted until the script says otherwise.
ProducedMessage copy_of(const MessageView& message) {
    ProducedMessage copy{std::string(message.topic),
                         std::string(message.key),
                         std::string(message.payload),
                         {},
                         message.timestamp_ms,
                         ProduceStatus::accepted,
                         std::nullopt,
                         false,
                         message.token};
    copy.headers.reserve(message.headers.size());
    for (const RecordHeader& header : message.headers)
        copy.headers.emplace_back(header.name, header.value);
    return copy;
}

/// A view of `copy`; its headers are views kept in `headers`, which must outlive the view.
MessageView view_of(const ProducedMessage& copy, std::vector<RecordHeader>& headers) {
    headers.clear();
    headers.reserve(copy.headers.size());
    for (const auto& [name, value] : copy.headers) headers.push_back(RecordHeader{name, value});
    return MessageView{copy.topic, copy.key, copy.payload, headers, copy.timestamp_ms, copy.token};
}

}  // namespace

MockAsyncProducer::MockAsyncProducer(ErrorReporter& reporter, MockOptions options,
                                     std::source_location where)
    : reporter_(reporter), options_(options), where_(where) {
    if (options_.threaded) worker_ = std::thread([this] { run_worker(); });
}

MockAsyncProducer::~MockAsyncProducer() {
    close(std::chrono::milliseconds(0));
}

// --- scripting --------------------------------------------------------------------------

MockAsyncProducer& MockAsyncProducer::push(Expectation expectation) {
    std::lock_guard lock(mutex_);
    last_scripted_ = expectation.where;
    expectations_.push_back(std::move(expectation));
    return *this;
}

MockAsyncProducer& MockAsyncProducer::expect_input_and_succeed(std::source_location where) {
    return push(
        {Kind::succeed, {}, {}, ProduceStatus::accepted, where, "expect_input_and_succeed()"});
}

MockAsyncProducer& MockAsyncProducer::expect_input_and_fail(DeliveryError error,
                                                            std::source_location where) {
    return push({Kind::fail,
                 {},
                 std::move(error),
                 ProduceStatus::accepted,
                 where,
                 "expect_input_and_fail()"});
}

MockAsyncProducer& MockAsyncProducer::expect_input_and_reject(ProduceStatus status,
                                                              std::source_location where) {
    if (status == ProduceStatus::accepted) {
        reporter_.report(
            "MockAsyncProducer: expect_input_and_reject(accepted) rejects nothing; "
            "use expect_input_and_succeed() or expect_input_and_hold()",
            where.file_name(), static_cast<int>(where.line()));
        return expect_input_and_succeed(where);
    }
    return push({Kind::reject,
                 {},
                 {},
                 status,
                 where,
                 "expect_input_and_reject(" + std::string(to_string(status)) + ")"});
}

MockAsyncProducer& MockAsyncProducer::expect_input_with_checker_and_succeed(
    MessageChecker checker, std::source_location where) {
    return push({Kind::succeed,
                 std::move(checker),
                 {},
                 ProduceStatus::accepted,
                 where,
                 "expect_input_with_checker_and_succeed()"});
}

MockAsyncProducer& MockAsyncProducer::expect_input_with_checker_and_fail(
    MessageChecker checker, DeliveryError error, std::source_location where) {
    return push({Kind::fail, std::move(checker), std::move(error), ProduceStatus::accepted, where,
                 "expect_input_with_checker_and_fail()"});
}

MockAsyncProducer& MockAsyncProducer::expect_input_and_hold(std::source_location where) {
    return push({Kind::hold, {}, {}, ProduceStatus::accepted, where, "expect_input_and_hold()"});
}

// --- AsyncProducer ----------------------------------------------------------------------

void MockAsyncProducer::set_delivery_handler(DeliveryHandler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
}

void MockAsyncProducer::set_cluster_state_handler(ClusterStateHandler handler) {
    std::lock_guard lock(mutex_);
    state_handler_ = std::move(handler);
}

void MockAsyncProducer::set_cluster_state(ClusterState state) {
    ClusterStateHandler handler;
    {
        std::lock_guard lock(mutex_);
        handler = state_handler_;
    }
    if (handler) handler(state);
}

std::string MockAsyncProducer::describe_locked(std::size_t index) const {
    const ProducedMessage& m = produced_[index];
    std::string text = "input #" + std::to_string(index + 1) + " (topic '" + m.topic + "', key '" +
                       excerpt(m.key) + "', payload '" + excerpt(m.payload) + "'";
    for (const auto& [name, value] : m.headers) text += ", header " + name + "=" + excerpt(value);
    return text + ")";
}

std::pair<std::string, int> MockAsyncProducer::unexpected_location_locked() const {
    const std::source_location where = last_scripted_.value_or(where_);
    if (last_scripted_ || !in_standard_library(where)) {
        return {where.file_name(), static_cast<int>(where.line())};
    }
    // Built by std::make_shared (or another library helper) and never scripted: the
    // construction site is the library's; the running test's line is the user's nearest.
    if (const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info())
        return {test->file(), test->line()};
    return {where.file_name(), static_cast<int>(where.line())};
}

ProduceStatus MockAsyncProducer::produce(const MessageView& message) {
    std::unique_lock lock(mutex_);
    const std::size_t index = produced_.size();
    produced_.push_back(copy_of(message));
    if (closed_) {
        produced_[index].status = ProduceStatus::closed;
        return ProduceStatus::closed;
    }
    if (expectations_.empty()) {
        const std::string what = "MockAsyncProducer: " + describe_locked(index) +
                                 " arrived with no expectation left" +
                                 (last_scripted_ ? " (the last one was scripted here)" : "") +
                                 "; it is failed to the delivery handler";
        const auto [file, line] = unexpected_location_locked();
        lock.unlock();
        reporter_.report(what, file.c_str(), line);
        lock.lock();
        dispatch(lock, {index, DeliveryError{error_codes::mock_unexpected, "mock: unexpected input",
                                             false}});
        return ProduceStatus::accepted;
    }
    Expectation expectation = std::move(expectations_.front());
    expectations_.pop_front();

    if (expectation.checker) {
        // The checker is user code: run it unlocked, on a view of our stable copy.
        std::vector<RecordHeader> headers;
        const MessageView view = view_of(produced_[index], headers);
        lock.unlock();
        bool accepted = false;
        std::string failure;
        try {
            accepted = expectation.checker(view);
        } catch (const std::exception& e) {
            failure = std::string(" threw: ") + e.what();
        } catch (...) {
            failure = " threw";
        }
        lock.lock();
        if (!accepted) {
            const std::string what = "MockAsyncProducer: the checker of " + expectation.what +
                                     (failure.empty() ? " rejected " : failure + " on ") +
                                     describe_locked(index) +
                                     "; it is failed to the delivery handler";
            lock.unlock();
            reporter_.report(what, expectation.where.file_name(),
                             static_cast<int>(expectation.where.line()));
            lock.lock();
            dispatch(lock, {index, DeliveryError{error_codes::mock_checker_failed,
                                                 "mock: checker rejected the input", false}});
            return ProduceStatus::accepted;
        }
    }

    switch (expectation.kind) {
        case Kind::reject:
            produced_[index].status = expectation.reject_status;
            return expectation.reject_status;
        case Kind::hold:
            produced_[index].held = true;
            held_.push_back(index);
            return ProduceStatus::accepted;
        case Kind::succeed:
            dispatch(lock, {index, std::nullopt});
            return ProduceStatus::accepted;
        case Kind::fail:
            dispatch(lock, {index, std::move(expectation.error)});
            return ProduceStatus::accepted;
    }
    return ProduceStatus::accepted;
}

void MockAsyncProducer::dispatch(std::unique_lock<std::mutex>& lock, Pending pending) {
    produced_[pending.index].error = pending.error;
    if (options_.threaded && !stopping_) {
        queue_.push_back(std::move(pending));
        changed_.notify_all();
        return;
    }
    lock.unlock();
    deliver(pending);
    lock.lock();
}

void MockAsyncProducer::deliver(const Pending& pending) {
    DeliveryHandler handler;
    MessageView view;
    std::vector<RecordHeader> headers;  // the views view.headers spans
    std::pair<std::string, int> at;
    {
        std::lock_guard lock(mutex_);
        handler = handler_;
        view = view_of(produced_[pending.index], headers);
        if (!handler) at = unexpected_location_locked();
    }
    if (!handler) {
        reporter_.report("MockAsyncProducer: a report is due but no delivery handler is set",
                         at.first.c_str(), at.second);
        return;
    }
    handler(DeliveryReport{view, pending.error});
}

void MockAsyncProducer::run_worker() {
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [this] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;  // stopping, and everything was delivered
        Pending pending = std::move(queue_.front());
        queue_.pop_front();
        worker_busy_ = true;
        lock.unlock();
        deliver(pending);
        lock.lock();
        worker_busy_ = false;
        changed_.notify_all();
    }
}

std::size_t MockAsyncProducer::release_held() {
    std::unique_lock lock(mutex_);
    std::vector<std::size_t> held = std::move(held_);
    held_.clear();
    for (std::size_t index : held) {
        produced_[index].held = false;
        dispatch(lock, {index, std::nullopt});
    }
    return held.size();
}

bool MockAsyncProducer::flush(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [this] { return idle_locked(); });
    return idle_locked() && held_.empty();
}

void MockAsyncProducer::wait_until_idle() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return idle_locked(); });
}

void MockAsyncProducer::close(std::chrono::milliseconds timeout) {
    std::call_once(close_once_, [&] {
        {
            std::unique_lock lock(mutex_);
            closed_ = true;
            changed_.wait_for(lock, timeout, [this] { return idle_locked(); });
            // Purge what is held: each gets its failure report before close returns.
            std::vector<std::size_t> held = std::move(held_);
            held_.clear();
            for (std::size_t index : held) {
                produced_[index].held = false;
                dispatch(lock, {index, DeliveryError{error_codes::purged_queue,
                                                     "mock: purged by close()", false}});
            }
            stopping_ = true;  // the worker drains the queue, then exits
            changed_.notify_all();
        }
        if (worker_.joinable()) worker_.join();
        verify();
    });
}

// --- inspection -------------------------------------------------------------------------

bool MockAsyncProducer::verify() {
    std::vector<Expectation> unreported;
    bool clean = true;
    {
        std::lock_guard lock(mutex_);
        clean = expectations_.empty();
        if (!verified_) {
            unreported.assign(expectations_.begin(), expectations_.end());
            verified_ = !clean;
        }
    }
    for (std::size_t i = 0; i < unreported.size(); ++i) {
        const Expectation& e = unreported[i];
        reporter_.report("MockAsyncProducer: " + std::to_string(unreported.size()) +
                             " expectation(s) left without input; this one is " + e.what +
                             " set at " + location(e.where),
                         e.where.file_name(), static_cast<int>(e.where.line()));
    }
    return clean;
}

std::vector<ProducedMessage> MockAsyncProducer::produced() const {
    std::lock_guard lock(mutex_);
    return {produced_.begin(), produced_.end()};
}

std::size_t MockAsyncProducer::expectations_left() const {
    std::lock_guard lock(mutex_);
    return expectations_.size();
}

}  // namespace kafka_log::mocks
