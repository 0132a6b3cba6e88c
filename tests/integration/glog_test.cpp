// SPDX-License-Identifier: Apache-2.0
// glog through GlogKafkaSink and RdKafkaProducer, on the embedded cluster.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "glog_support.hpp"
#include "integration_support.hpp"
#include "kafka_log/glog/glog_kafka_sink.hpp"

namespace kafka_log::test {
namespace {

TEST(GlogIntegrationTest, TenThreadsTenThousandLinesEachReadBack) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 16,
                         1);  // the mock keeps ~5 MiB per partition (testing/embedded_cluster.hpp)
    Pipeline p(topic, test_config(cluster, 30000));
    GlogKafkaSink sink(p.writer);
    {
        ScopedGlogSink scoped(sink);
        std::vector<std::thread> workers;
        for (int t = 0; t < 10; ++t) {
            workers.emplace_back([t] {
                for (int i = 0; i < 10000; ++i) LOG(INFO) << "glog " << t << "-" << i;
            });
        }
        for (auto& w : workers) w.join();
    }
    ASSERT_TRUE(p.writer->flush(60s));
    p.writer->close(5s);

    const WriterStats s = p.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, 100000u);
    EXPECT_EQ(s.delivered, 100000u);
    EXPECT_TRUE(p.fallback_lines().empty());
    EXPECT_EQ(cluster.message_count(topic), 100000u);
    const auto on_topic = payloads(cluster.read_all(topic, 60s));
    ASSERT_EQ(on_topic.size(), 100000u);
    std::map<std::string, int> messages;
    for (const auto& line : on_topic)
        ++messages[nlohmann::json::parse(line)["msg"].get<std::string>()];
    ASSERT_EQ(messages.size(), 100000u) << "every line exactly once";
    EXPECT_EQ(messages.count("glog 9-9999"), 1u);
}

// A user who routes librdkafka's own log lines into glog: no recursion, no deadlock; those
// lines go to the fallback (fallback_reentrant) and the application's lines to Kafka.
TEST(GlogIntegrationTest, LibrdkafkaLogRoutedIntoGlogNeitherRecursesNorDeadlocks) {
    EmbeddedCluster cluster;
    const std::string topic = unique_topic();
    cluster.create_topic(topic, 1, 1);
    std::atomic<int> routed{0};
    RdKafkaOptions options;
    options.log_callback = [&](int, std::string_view facility, std::string_view line) {
        ++routed;
        LOG(INFO) << "librdkafka " << facility << ": " << line;
    };
    ProducerConfig config = test_config(cluster);
    config.set("debug", "msg,broker");
    auto producer = std::make_shared<RdKafkaProducer>(config, options);
    TempDir dir;
    auto writer = std::make_shared<KafkaWriter>(
        producer, std::make_shared<FileFallback>(dir / "fallback.log"),
        WriterOptions{.topic = topic});
    GlogKafkaSink sink(writer);
    {
        ScopedGlogSink scoped(sink);
        std::vector<std::thread> workers;
        for (int t = 0; t < 4; ++t) {
            workers.emplace_back([t] {
                for (int i = 0; i < 500; ++i) LOG(INFO) << "app " << t << "-" << i;
            });
        }
        for (auto& w : workers) w.join();
        ASSERT_TRUE(writer->flush(20s));
    }
    writer->close(5s);

    const WriterStats s = writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_GT(routed.load(), 0);
    EXPECT_GT(s.fallback_reentrant, 0u);
    EXPECT_EQ(s.delivered, 2000u);
    EXPECT_EQ(s.lost + s.in_flight, 0u);
    const auto on_topic = cluster.read_all(topic, 30s);
    EXPECT_EQ(on_topic.size(), 2000u);
    for (const auto& line : read_lines(dir / "fallback.log")) {
        EXPECT_EQ(nlohmann::json::parse(line)["msg"].get<std::string>().rfind("librdkafka ", 0), 0u)
            << line;
    }
}

// Kafka unreachable, records queued in the producer (message.timeout.ms far away), then
// LOG(FATAL): before glog aborts, the sink waits fatal_flush_timeout and moves every record
// still in the producer into the fallback, the fatal line included.
//
// glog aborts the process, so the fatal part runs in a forked child. The child builds the
// cluster, producer and writer itself, after the fork: librdkafka's threads do not survive a
// fork, so none may exist in this process when it forks. The parent only waits (poll on a
// pipe the child holds until it dies, with a deadline) and reads the fallback file.
TEST(GlogIntegrationTest, FatalWithKafkaDownPutsEveryQueuedLineAndTheFatalOneInTheFallback) {
    constexpr int queued_lines = 5;
    TempDir dir;
    const auto fallback_path = dir / "fallback.log";
    const std::string topic = unique_topic();
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const pid_t pid = ::fork();
    ASSERT_NE(pid, -1);
    if (pid == 0) {
        ::close(fds[0]);
        const auto say = [&](const std::string& text) {
            [[maybe_unused]] const ssize_t n = ::write(fds[1], text.data(), text.size());
        };
        try {
            EmbeddedCluster cluster(2);
            cluster.create_topic(topic, 1, 1);
            for (int id = 1; id <= cluster.brokers(); ++id) cluster.set_broker_down(id);
            ClientLog log;
            auto producer =
                std::make_shared<RdKafkaProducer>(test_config(cluster, 60000), log.options());
            auto writer = std::make_shared<KafkaWriter>(
                producer, std::make_shared<FileFallback>(fallback_path),
                WriterOptions{.topic = topic, .breaker_enabled = false});
            // Never destroyed: glog aborts with the sink registered.
            static GlogKafkaSink* sink =
                new GlogKafkaSink(writer, GlogSinkOptions{.fatal_flush_timeout = 500ms});
            google::AddLogSink(sink);
            for (int i = 0; i < queued_lines; ++i) LOG(ERROR) << "queued " << i;
            // The producer has held them for at least a second, and still does.
            const auto logged = std::chrono::steady_clock::now();
            bool held = true;
            wait_until(
                [&] {
                    held = held &&
                           writer->stats().in_flight == static_cast<std::uint64_t>(queued_lines);
                    return !held || std::chrono::steady_clock::now() - logged >= 1s;
                },
                10s);
            const WriterStats s = writer->stats();
            say("in_flight before FATAL: " + std::to_string(s.in_flight) +
                " fallback: " + std::to_string(s.fallback_total()) + "\n");
            LOG(FATAL) << "the last words";
        } catch (const std::exception& e) {
            say(std::string("exception in the child: ") + e.what() + "\n");
        }
        ::_exit(3);  // LOG(FATAL) did not abort: never return into GoogleTest
    }
    ::close(fds[1]);

    // The child holds the pipe's write end until it dies: EOF means it is gone.
    std::string said;
    const auto end = std::chrono::steady_clock::now() + 60s;
    bool eof = false;
    while (!eof) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd pfd{fds[0], POLLIN, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) break;
        char buffer[1024];
        const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            eof = true;
        } else {
            said.append(buffer, static_cast<std::size_t>(n));
        }
    }
    ::close(fds[0]);
    int status = 0;
    if (!eof) ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
    ASSERT_TRUE(eof) << "the child did not die within 60 s (killed); it said: " << said;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT)
        << "the child should have been aborted by glog; it said: " << said;
    EXPECT_EQ(said, "in_flight before FATAL: " + std::to_string(queued_lines) + " fallback: 0\n")
        << "the lines were queued in the producer, not in the fallback, when FATAL came";

    const auto lines = read_lines(fallback_path);
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(queued_lines + 1)) << said;
    std::multiset<std::string> messages;
    for (const auto& line : lines)
        messages.insert(nlohmann::json::parse(line)["msg"].get<std::string>());
    std::multiset<std::string> expected{"the last words"};
    for (int i = 0; i < queued_lines; ++i) expected.insert("queued " + std::to_string(i));
    EXPECT_EQ(messages, expected);
}

}  // namespace
}  // namespace kafka_log::test
