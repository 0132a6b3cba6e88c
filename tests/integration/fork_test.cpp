// SPDX-License-Identifier: Apache-2.0
// fork() after an RdKafkaProducer exists: in the child, librdkafka's threads and the producer's
// own are gone. The child must neither hang nor crash, and its records must reach the fallback;
// the parent's producer must go on as if nothing happened.
//
// Each child reports through a pipe and leaves with _exit (never back into GoogleTest, never
// through a destructor of the parent's objects); the parent waits with a deadline and kills a
// child that does not finish in time.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration_support.hpp"

namespace kafka_log::test {
namespace {

/// What a forked child reported: `finished` when it exited by itself before the deadline.
struct ChildOutcome {
    bool finished = false;
    int exit_code = -1;
    std::string report;  // empty: every check in the child passed
};

/// Forks; the child runs `body` (which returns what failed, empty when nothing did), writes
/// that to a pipe and _exits. The parent reads the pipe until EOF, polling with `deadline`
/// (no sleep); past it the child is killed.
ChildOutcome run_in_child(const std::function<std::string()>& body,
                          std::chrono::milliseconds deadline) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        ADD_FAILURE() << "pipe2: " << std::strerror(errno);
        return {};
    }
    const pid_t pid = ::fork();
    if (pid == -1) {
        ADD_FAILURE() << "fork: " << std::strerror(errno);
        ::close(fds[0]);
        ::close(fds[1]);
        return {};
    }
    if (pid == 0) {
        ::close(fds[0]);
        std::string report;
        try {
            report = body();
        } catch (const std::exception& e) {
            report = std::string("exception in the child: ") + e.what();
        } catch (...) {
            report = "unknown exception in the child";
        }
        for (std::size_t done = 0; done < report.size();) {
            const ssize_t n = ::write(fds[1], report.data() + done, report.size() - done);
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        ::_exit(report.empty() ? 0 : 1);  // never return into GoogleTest
    }
    ::close(fds[1]);

    ChildOutcome outcome;
    const auto end = std::chrono::steady_clock::now() + deadline;
    bool eof = false;
    while (!eof) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd pfd{fds[0], POLLIN, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) break;  // deadline (or a poll error)
        char buffer[4096];
        const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            eof = true;  // the child exited (its end closed with it)
        } else {
            outcome.report.append(buffer, static_cast<std::size_t>(n));
        }
    }
    ::close(fds[0]);
    if (!eof) {
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        ADD_FAILURE() << "the forked child did not finish within " << deadline.count()
                      << " ms (killed); it said: '" << outcome.report << "'";
        return outcome;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
    outcome.finished = true;
    if (WIFEXITED(status)) {
        outcome.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        outcome.report += " [killed by signal " + std::to_string(WTERMSIG(status)) + "]";
    }
    return outcome;
}

/// Collects the child's failed checks as text (GoogleTest assertions would be recorded only
/// in the child's copy of the test state).
class ChildChecks {
public:
    template <typename A, typename B>
    void equal(const char* what, const A& actual, const B& expected) {
        if (!(actual == expected))
            out_ << what << ": got " << actual << ", expected " << expected << "\n";
    }
    void check(const char* what, bool ok) {
        if (!ok) out_ << what << "\n";
    }
    std::string text() const { return out_.str(); }

private:
    std::ostringstream out_;
};

std::string stats_text(const WriterStats& s) {
    std::ostringstream text;
    PrintTo(s, &text);
    return text.str();
}

// The scenario of a pre-fork server: the parent logs, forks a worker, the worker logs and exits.
// The worker's records all go to the fallback (bucket `closed`), the writer's identity holds
// there, and the parent's records and producer are untouched.
TEST(ForkTest, ChildRecordsGoToTheFallbackAndTheParentKeepsProducing) {
    constexpr int parent_records = 5;
    constexpr int child_records = 1000;
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    Pipeline p(topic, test_config(cluster, 30000));

    std::vector<std::string> sent_by_parent;
    for (int i = 0; i < parent_records; ++i) {
        sent_by_parent.push_back("parent-before-" + std::to_string(i));
        p.writer->write(sent_by_parent.back());
    }
    ASSERT_TRUE(
        p.writer->flush(30s));  // nothing in flight at the fork: the child's stats are its own
    ASSERT_EQ(p.writer->stats().delivered, static_cast<std::uint64_t>(parent_records));

    const ChildOutcome child = run_in_child(
        [&]() -> std::string {
            ChildChecks c;
            for (int i = 0; i < child_records; ++i) p.writer->write("child-" + std::to_string(i));
            const auto start = std::chrono::steady_clock::now();
            p.writer->close(2s);
            const auto took = std::chrono::steady_clock::now() - start;
            c.check("writer.close(2s) in the child waited (it has nothing of its own in flight)",
                    took < 1s);
            const WriterStats s = p.writer->stats();
            c.check(("identity broken: " + stats_text(s)).c_str(), static_cast<bool>(Balanced(s)));
            c.equal("submitted", s.submitted, std::uint64_t{parent_records + child_records});
            c.equal("delivered (the parent's, before the fork)", s.delivered,
                    std::uint64_t{parent_records});
            c.equal("fallback_closed", s.fallback_closed, std::uint64_t{child_records});
            c.equal("fallback_total", s.fallback_total(), std::uint64_t{child_records});
            c.equal("lost", s.lost, std::uint64_t{0});
            c.equal("in_flight", s.in_flight, std::uint64_t{0});

            // The producer itself, used directly in the child: nothing reaches librdkafka.
            const MessageView direct{topic, {}, "child-direct"};
            c.check("producer.produce in the child is not `closed`",
                    p.producer->produce(direct) == ProduceStatus::closed);
            c.check("producer.flush in the child is not true at once", p.producer->flush(0ms));
            c.equal("producer.in_flight in the child", p.producer->in_flight(), std::uint64_t{0});
            p.producer->close(5s);
            // The destructors: the writer's, then the producer's, which must not join the poll
            // thread or destroy librdkafka's handles (neither exists here).
            p.writer.reset();
            p.producer.reset();
            return c.text();
        },
        30s);
    ASSERT_TRUE(child.finished);
    EXPECT_EQ(child.exit_code, 0) << child.report;
    EXPECT_EQ(child.report, "");

    // The child's records, each once, in the fallback file; none of the parent's.
    const auto fallback = p.fallback_lines();
    EXPECT_EQ(fallback.size(), static_cast<std::size_t>(child_records));
    const auto in_fallback = counts(fallback);
    for (int i = 0; i < child_records; ++i) {
        const auto it = in_fallback.find("child-" + std::to_string(i));
        ASSERT_TRUE(it != in_fallback.end() && it->second == 1)
            << "child-" << i << " not in the fallback once";
    }

    // The parent's producer is unharmed by the fork: it still delivers.
    for (int i = 0; i < parent_records; ++i) {
        sent_by_parent.push_back("parent-after-" + std::to_string(i));
        p.writer->write(sent_by_parent.back());
    }
    ASSERT_TRUE(p.writer->flush(30s));
    p.writer->close(5s);
    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(2 * parent_records));
    EXPECT_EQ(s.fallback_total() + s.lost + s.in_flight, 0u);
    EXPECT_THAT(payloads(cluster.read_all(topic, 30s)),
                ::testing::UnorderedElementsAreArray(sent_by_parent));
}

// A fork while another thread of the parent produces flat out (the poll thread busy, rings and
// librdkafka's locks possibly held at the fork): the child's produce, flush, close and
// destructor touch none of them, so none can hang.
TEST(ForkTest, ProducerInChildNeverWaitsOnTheParentsThreads) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    ClientLog log;
    auto producer = std::make_shared<RdKafkaProducer>(test_config(cluster, 30000), log.options());
    std::atomic<std::uint64_t> reports{0};
    producer->set_delivery_handler([&](const DeliveryReport&) { ++reports; });

    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> accepted{0};
    std::thread busy([&] {
        for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
            const std::string payload = "busy-" + std::to_string(i);
            if (producer->produce(MessageView{topic, {}, payload}) == ProduceStatus::accepted)
                ++accepted;
        }
    });
    ASSERT_TRUE(wait_until([&] { return reports.load() >= 1000; }));  // the poll thread is at work

    const ChildOutcome child = run_in_child(
        [&]() -> std::string {
            ChildChecks c;
            for (int i = 0; i < 100; ++i) {
                c.check(
                    "produce in the child is not `closed`",
                    producer->produce(MessageView{topic, {}, "child"}) == ProduceStatus::closed);
            }
            c.check("flush in the child is not true", producer->flush(5s));
            c.equal("in_flight in the child", producer->in_flight(), std::uint64_t{0});
            producer->set_delivery_handler(
                [](const DeliveryReport&) {});  // would lock handler_mutex_
            producer->close(5s);
            producer.reset();  // the last reference in the child: the destructor runs here
            return c.text();
        },
        30s);
    stop = true;
    busy.join();
    ASSERT_TRUE(child.finished);
    EXPECT_EQ(child.exit_code, 0) << child.report;
    EXPECT_EQ(child.report, "");

    // The parent's producer goes on: every record it accepted is reported.
    ASSERT_TRUE(producer->flush(60s));
    producer->close(5s);
    EXPECT_EQ(reports.load(), accepted.load());
}

}  // namespace
}  // namespace kafka_log::test
