// SPDX-License-Identifier: Apache-2.0
// `kafka_log_spool replay` run as a user runs it: spools written by SpoolFallback in this
// process, the built tool sending them to an EmbeddedCluster in this process, the topics read
// back with read_all and the spool read back with SpoolReader. No sleeps: every wait is on a
// condition with a deadline.

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "kafka_log/spool_drain.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "kafka_log/spool_reader.hpp"
#include "kafka_log/testing/embedded_cluster.hpp"
#include "test_support.hpp"

#ifndef KAFKA_LOG_SPOOL_TOOL
#error "KAFKA_LOG_SPOOL_TOOL must name the built kafka_log_spool"
#endif

extern char** environ;

namespace kafka_log {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace std::string_literals;

struct RunResult {
    int exit_code =
        -1;  ///< -1: it did not exit (killed by `signal`, or still running at the deadline).
    int signal = 0;
    std::string out;
    std::string err;
};

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path;
}

std::vector<char*> argv_of(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(KAFKA_LOG_SPOOL_TOOL));
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    return argv;
}

/// Fills `result` from a wait status.
void take_status(int status, RunResult& result) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
}

/// The tool as a child process (posix_spawn: no fork of this threaded process), stdin from
/// /dev/null, stdout and stderr into files (not a terminal, and no pipe to fill), so that a
/// test can watch the cluster meanwhile and kill it.
class ToolProcess {
public:
    explicit ToolProcess(const std::vector<std::string>& args) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, (scratch_ / "stdout").c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, (scratch_ / "stderr").c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        std::vector<char*> argv = argv_of(args);
        const int error =
            ::posix_spawn(&pid_, KAFKA_LOG_SPOOL_TOOL, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (error != 0) {
            ADD_FAILURE() << "posix_spawn failed: " << error;
            pid_ = -1;
        }
    }
    ~ToolProcess() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
            }
        }
    }
    ToolProcess(const ToolProcess&) = delete;
    ToolProcess& operator=(const ToolProcess&) = delete;

    /// True while it runs (false once it ended: `wait` then returns at once).
    bool running() {
        if (pid_ <= 0) return false;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
        pid_ = -1;
        take_status(status, result_);
        return false;
    }

    void kill_now() {
        if (pid_ > 0) ::kill(pid_, SIGKILL);
    }

    /// Waits for it to end; past `deadline` it is killed and the test fails.
    RunResult wait(std::chrono::milliseconds deadline = 120s) {
        if (!test::wait_until([this] { return !running(); }, deadline)) {
            ADD_FAILURE() << "kafka_log_spool still running after " << deadline.count()
                          << " ms; killed";
            kill_now();
            test::wait_until([this] { return !running(); });
        }
        result_.out = read_file(scratch_ / "stdout");
        result_.err = read_file(scratch_ / "stderr");
        return result_;
    }

private:
    test::TempDir scratch_;
    pid_t pid_ = -1;
    RunResult result_;
};

RunResult run_tool(const std::vector<std::string>& args) {
    return ToolProcess(args).wait();
}

/// Runs the tool with stdout and stderr on a pseudo-terminal (raw mode: the output arrives as
/// written, no `\n` -> `\r\n`); `out` gets everything it wrote.
RunResult run_tool_on_terminal(const std::vector<std::string>& args) {
    RunResult result;
    int master = -1;
    int slave = -1;
    termios raw{};
    ::cfmakeraw(&raw);
    winsize size{};
    size.ws_row = 24;
    size.ws_col = 120;
    if (::openpty(&master, &slave, nullptr, &raw, &size) != 0) {
        ADD_FAILURE() << "openpty failed: " << errno;
        return result;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, slave, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, slave, STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, slave);
    posix_spawn_file_actions_addclose(&actions, master);
    std::vector<char*> argv = argv_of(args);
    pid_t pid = -1;
    const int error =
        ::posix_spawn(&pid, KAFKA_LOG_SPOOL_TOOL, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(slave);
    if (error != 0) {
        ::close(master);
        ADD_FAILURE() << "posix_spawn failed: " << error;
        return result;
    }
    // Read until the terminal's last writer is gone (EIO), with a deadline.
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    std::array<char, 4096> buffer{};
    for (;;) {
        if (std::chrono::steady_clock::now() >= deadline) {
            ADD_FAILURE()
                << "kafka_log_spool still writing to its terminal at the deadline; killed";
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd p{master, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const ssize_t n = ::read(master, buffer.data(), buffer.size());
        if (n > 0) {
            result.out.append(buffer.data(), static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;  // EIO: every copy of the slave is closed
        }
    }
    ::close(master);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    take_status(status, result);
    return result;
}

std::vector<SpoolRecord> read_spool(const fs::path& dir) {
    std::vector<SpoolRecord> records;
    SpoolReader reader(dir);
    for (SpoolRecord record; reader.next(record);) records.push_back(std::move(record));
    return records;
}

std::size_t segment_count(const fs::path& dir) {
    std::size_t count = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with("seg-") && name.ends_with(".kls")) ++count;
    }
    return count;
}

/// Every file of `dir` by name, with its bytes.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::directory_iterator(dir))
        files[entry.path().filename().string()] = read_file(entry.path());
    return files;
}

std::string header_or(const TopicRecord& record, std::string_view name,
                      std::string fallback = "<none>") {
    const std::string* value = record.header(name);
    return value != nullptr ? *value : fallback;
}

/// A record to spool.
struct Input {
    std::string topic;
    std::optional<std::string> key;
    std::string payload;
    std::vector<std::pair<std::string, std::string>> headers;
    std::int64_t timestamp_ms = 0;
    bool possibly_persisted = false;
};

/// Writes `inputs` through a SpoolFallback (destroyed at the end: its segments are sealed, as a
/// process that is gone left them) and returns the records as the spool holds them.
std::vector<SpoolRecord> write_spool(const fs::path& dir, const std::vector<Input>& inputs,
                                     SpoolOptions options = SpoolOptions{.replay_rate = 0}) {
    {
        SpoolFallback spool(dir, options);
        std::vector<RecordHeader> headers;
        for (const Input& input : inputs) {
            headers.clear();
            for (const auto& [name, value] : input.headers)
                headers.push_back(RecordHeader{name, value});
            FallbackRecord record;
            record.topic = input.topic;
            record.key = input.key ? std::string_view(*input.key) : std::string_view();
            record.headers = headers;
            record.payload = input.payload;
            record.reason = FallbackReason::unreachable;
            record.possibly_persisted = input.possibly_persisted;
            record.timestamp_ms = input.timestamp_ms;
            EXPECT_TRUE(spool.write(record));
        }
    }
    return read_spool(dir);
}

std::vector<Input> sample_inputs() {
    return {
        {"app", "user-1", "one", {{"trace", "abc"}}, 1700000000123, false},
        {"app",
         std::nullopt,
         "two: no key",
         {{"trace", "def"}, {"bin", "\0\x01\xff"s}},
         1700000000456,
         false},
        {"audit", "k", "three: may be on Kafka already", {}, 1700000001000, true},
        {"audit", "h\xc3\xa9", "nul\0inside\x01"s, {{"trace", "ghi"}}, 1700000002789, false},
        {"app", "user-2", "five", {{"trace", "jkl"}}, 1700000003000, false},
    };
}

/// `n` small records on `topic`, keys spread over the partitions.
std::vector<Input> bulk_inputs(const std::string& topic, std::size_t n) {
    std::vector<Input> inputs;
    inputs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        inputs.push_back({topic,
                          "key-" + std::to_string(i),
                          "bulk record " + std::to_string(i),
                          {{"n", std::to_string(i)}},
                          1700000000000 + static_cast<std::int64_t>(i),
                          false});
    }
    return inputs;
}

class KafkaLogSpoolReplayTest : public ::testing::Test {
protected:
    fs::path spool_dir() const { return dir_ / "spool"; }

    std::vector<std::string> replay_args(std::vector<std::string> extra = {}) const {
        std::vector<std::string> args{"replay", spool_dir().string(), "--brokers",
                                      cluster_.bootstrap_servers()};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    /// The records of `topic`, by their kafka_log.id header.
    std::map<std::string, std::vector<TopicRecord>> by_id(const std::string& topic) const {
        std::map<std::string, std::vector<TopicRecord>> out;
        for (TopicRecord& record : cluster_.read_all(topic, 30s)) {
            out[header_or(record, replay_id_header)].push_back(std::move(record));
        }
        return out;
    }

    /// Checks that every spooled record is on `topic` exactly once, whole, with the replay headers.
    void expect_each_once(const std::vector<SpoolRecord>& spooled, const std::string& topic) const {
        const auto on_topic = by_id(topic);
        std::size_t copies = 0;
        for (const auto& [id, records] : on_topic) copies += records.size();
        EXPECT_EQ(copies, spooled.size()) << topic;
        for (const SpoolRecord& s : spooled) {
            SCOPED_TRACE(s.id);
            const auto it = on_topic.find(s.id);
            ASSERT_NE(it, on_topic.end()) << "not on " << topic;
            ASSERT_EQ(it->second.size(), 1U);
            const TopicRecord& r = it->second.front();
            EXPECT_EQ(r.payload, s.payload);
            EXPECT_EQ(r.has_key, s.key.has_value());
            EXPECT_EQ(r.key, s.key.value_or(""));
            EXPECT_EQ(r.timestamp_ms, s.timestamp_ms);
            auto expected_headers = s.headers;
            expected_headers.emplace_back(replay_id_header, s.id);
            expected_headers.emplace_back(replayed_header,
                                          s.possibly_persisted ? "possibly-duplicate" : "1");
            EXPECT_EQ(r.headers, expected_headers);
        }
    }

    EmbeddedCluster cluster_{1};
    test::TempDir dir_;
};

TEST_F(KafkaLogSpoolReplayTest, SendsEveryRecordOnceToItsTopicAndEmptiesTheSpool) {
    cluster_.create_topic("app", 1);
    cluster_.create_topic("audit", 1);
    const auto spooled = write_spool(spool_dir(), sample_inputs());
    ASSERT_EQ(spooled.size(), 5U);

    const RunResult r = run_tool(replay_args());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "replayed 5, skipped as corrupt 0, failed 0, left 0\n") << r.err;

    std::vector<SpoolRecord> app, audit;
    for (const SpoolRecord& s : spooled) (s.topic == "app" ? app : audit).push_back(s);
    expect_each_once(app, "app");
    expect_each_once(audit, "audit");
    EXPECT_EQ(segment_count(spool_dir()), 0U)
        << "every segment is deleted once all of it is on Kafka";
    EXPECT_TRUE(read_spool(spool_dir()).empty());

    // Nothing left: a second run sends nothing and still exits 0.
    const RunResult again = run_tool(replay_args());
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(again.out, "replayed 0, skipped as corrupt 0, failed 0, left 0\n");
    EXPECT_EQ(cluster_.message_count("app") + cluster_.message_count("audit"), 5U);
}

TEST_F(KafkaLogSpoolReplayTest, TopicOptionSendsEveryRecordToThatTopic) {
    cluster_.create_topic("app", 1);
    cluster_.create_topic("audit", 1);
    cluster_.create_topic("elsewhere", 1);
    const auto spooled = write_spool(spool_dir(), sample_inputs());

    const RunResult r = run_tool(replay_args({"--topic", "elsewhere", "--rate", "0"}));
    EXPECT_EQ(r.exit_code, 0) << "signal " << r.signal << ": " << r.err;
    EXPECT_EQ(r.out, "replayed 5, skipped as corrupt 0, failed 0, left 0\n") << r.err;
    expect_each_once(spooled, "elsewhere");
    EXPECT_EQ(cluster_.message_count("app"), 0U);
    EXPECT_EQ(cluster_.message_count("audit"), 0U);
}

TEST_F(KafkaLogSpoolReplayTest, ACorruptStretchIsSkippedAndCountedAndItsSegmentKeptAside) {
    cluster_.create_topic("app", 1);
    cluster_.create_topic("audit", 1);
    auto spooled = write_spool(spool_dir(), sample_inputs());
    fs::path segment;
    for (const auto& entry : fs::directory_iterator(spool_dir())) {
        if (entry.path().extension() == ".kls") segment = entry.path();
    }
    std::string bytes = read_file(segment);
    const auto at = bytes.find("three: may be on Kafka already");
    ASSERT_NE(at, std::string::npos);
    bytes[at] = 'T';
    write_file(segment, bytes);
    spooled.erase(spooled.begin() + 2);

    const RunResult r = run_tool(replay_args());
    EXPECT_EQ(r.exit_code, 0) << "no whole record left: " << r.err;
    EXPECT_EQ(r.out, "replayed 4, skipped as corrupt 1, failed 0, left 0\n") << r.err;
    expect_each_once({spooled[0], spooled[1], spooled[3]}, "app");
    expect_each_once({spooled[2]}, "audit");
    EXPECT_EQ(segment_count(spool_dir()), 0U);
    fs::path aside = segment;
    aside += ".corrupt";
    EXPECT_TRUE(fs::exists(aside)) << "the damaged bytes are kept for a person to look at";
}

TEST_F(KafkaLogSpoolReplayTest, DryRunCountsAndChangesNothing) {
    cluster_.create_topic("app", 1);
    cluster_.create_topic("audit", 1);
    const auto inputs = sample_inputs();
    write_spool(spool_dir(), inputs);
    std::map<std::string, std::uint64_t> bytes;
    for (const Input& in : inputs) bytes[in.topic] += in.payload.size();
    const auto before = snapshot(spool_dir());

    const RunResult r = run_tool(replay_args({"--dry-run"}));
    EXPECT_EQ(r.exit_code, 1) << "records present: " << r.err;
    EXPECT_EQ(r.out, "topic app: records 3, payload bytes " + std::to_string(bytes["app"]) +
                         "\ntopic audit: records 2, payload bytes " +
                         std::to_string(bytes["audit"]) +
                         "\nwould replay 5 records, payload bytes " +
                         std::to_string(bytes["app"] + bytes["audit"]) +
                         ", topics 2, possibly duplicate 1, skipped as corrupt 0\n");

    const RunResult t = run_tool(replay_args({"--dry-run", "--topic", "elsewhere"}));
    EXPECT_EQ(t.exit_code, 1) << t.err;
    EXPECT_NE(t.out.find("topic elsewhere: records 5, payload bytes "), std::string::npos) << t.out;

    EXPECT_EQ(snapshot(spool_dir()), before)
        << "every file byte-identical, no file made or removed";
    EXPECT_EQ(cluster_.message_count("app"), 0U);
    EXPECT_EQ(cluster_.message_count("audit"), 0U);
    EXPECT_TRUE(cluster_.read_all("app", 10s).empty());

    // An empty spool: exit 0.
    const test::TempDir empty;
    const RunResult e = run_tool(
        {"replay", empty.path().string(), "--brokers", cluster_.bootstrap_servers(), "--dry-run"});
    EXPECT_EQ(e.exit_code, 0) << e.err;
    EXPECT_EQ(e.out,
              "would replay 0 records, payload bytes 0, topics 0, possibly duplicate 0, skipped as "
              "corrupt 0\n");
}

TEST_F(KafkaLogSpoolReplayTest, ClusterDownLeavesEveryRecordInTheSpoolAndALaterRunSendsThemOnce) {
    cluster_.create_topic("bulk", 2);
    const auto spooled = write_spool(spool_dir(), bulk_inputs("bulk", 20));
    const fs::path config = dir_ / "producer.properties";
    write_file(
        config,
        "# short timeouts for the test\nmessage.timeout.ms=1000\nreconnect.backoff.max.ms=200\n");
    cluster_.set_broker_down(1);

    const RunResult down = run_tool(replay_args({"--producer-config", config.string()}));
    EXPECT_EQ(down.exit_code, 1) << down.err;
    EXPECT_TRUE(down.out.starts_with("replayed 0, skipped as corrupt 0, failed ")) << down.out;
    EXPECT_TRUE(down.out.ends_with(", left 20\n")) << down.out;
    EXPECT_EQ(down.out.find("failed 0,"), std::string::npos) << down.out;
    const auto left = read_spool(spool_dir());
    ASSERT_EQ(left.size(), spooled.size()) << "nothing lost";
    for (std::size_t i = 0; i < left.size(); ++i) {
        EXPECT_EQ(left[i].id, spooled[i].id);
        EXPECT_EQ(left[i].payload, spooled[i].payload);
    }

    cluster_.set_broker_up(1);
    const RunResult up = run_tool(replay_args());
    EXPECT_EQ(up.exit_code, 0) << up.err;
    EXPECT_EQ(up.out, "replayed 20, skipped as corrupt 0, failed 0, left 0\n") << up.err;
    const auto on_topic = by_id("bulk");
    EXPECT_EQ(on_topic.size(), spooled.size());
    for (const SpoolRecord& s : spooled) {
        const auto it = on_topic.find(s.id);
        ASSERT_NE(it, on_topic.end()) << s.id;
        EXPECT_EQ(it->second.size(), 1U) << s.id << ": exactly once";
        EXPECT_EQ(it->second.front().payload, s.payload);
    }
    EXPECT_EQ(segment_count(spool_dir()), 0U);
}

TEST_F(KafkaLogSpoolReplayTest, KilledHalfWayAndRunAgainLosesNothingAndResendsOnlyWhatWasInFlight) {
    constexpr std::size_t total = 50000;
    cluster_.create_topic("bulk", 8);
    // Several segments: the kill leaves some deleted, one half-marked, some untouched.
    const auto spooled =
        write_spool(spool_dir(), bulk_inputs("bulk", total),
                    SpoolOptions{.segment_bytes = std::uint64_t{1} << 20, .replay_rate = 0});
    ASSERT_EQ(spooled.size(), total);
    ASSERT_GT(segment_count(spool_dir()), 3U);

    {
        ToolProcess first(replay_args({"--rate", "20000"}));
        // Some on Kafka, not all: kill it there.
        ASSERT_TRUE(test::wait_until([&] { return cluster_.message_count("bulk") >= 5000; }, 60s));
        first.kill_now();
        const RunResult killed = first.wait();
        ASSERT_EQ(killed.signal, SIGKILL)
            << "it finished before the kill: " << killed.out << killed.err;
    }
    const std::uint64_t on_kafka_at_kill = cluster_.message_count("bulk");
    EXPECT_LT(on_kafka_at_kill, total);
    const auto left = read_spool(spool_dir());
    const auto unconfirmed = static_cast<std::size_t>(std::count_if(
        left.begin(), left.end(), [](const SpoolRecord& r) { return r.replay_unconfirmed; }));
    EXPECT_GT(left.size(), 0U);
    EXPECT_LT(left.size(), total);
    EXPECT_LE(unconfirmed, SpoolDrainOptions{}.max_in_flight)
        << "at most the drain's in-flight bound is unanswered";
    EXPECT_GE(left.size() + on_kafka_at_kill, total)
        << "whatever is not on Kafka is still in the spool";

    const RunResult second = run_tool(replay_args({"--rate", "0"}));
    EXPECT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(second.out, "replayed " + std::to_string(left.size()) +
                              ", skipped as corrupt 0, failed 0, left 0\n")
        << second.err;
    EXPECT_EQ(segment_count(spool_dir()), 0U);

    const auto on_topic = by_id("bulk");
    std::size_t duplicates = 0;
    for (const SpoolRecord& s : spooled) {
        const auto it = on_topic.find(s.id);
        ASSERT_NE(it, on_topic.end()) << s.id << " lost";
        ASSERT_LE(it->second.size(), 2U) << s.id;
        if (it->second.size() == 2) {
            ++duplicates;
            // The second copy was sent flagged: the record had been in flight at the kill.
            EXPECT_TRUE(header_or(it->second[0], replayed_header) == "possibly-duplicate" ||
                        header_or(it->second[1], replayed_header) == "possibly-duplicate")
                << s.id;
        }
    }
    RecordProperty("on_kafka_at_kill", static_cast<int>(on_kafka_at_kill));
    RecordProperty("unanswered_at_kill", static_cast<int>(unconfirmed));
    RecordProperty("duplicates", static_cast<int>(duplicates));
    EXPECT_EQ(on_topic.size(), total) << "no record that was not spooled";
    EXPECT_LE(duplicates, unconfirmed) << "only records in flight at the kill are sent twice";
    EXPECT_EQ(cluster_.message_count("bulk"), total + duplicates);
}

TEST_F(KafkaLogSpoolReplayTest, JournalCopiesNotSettledAreSentFlaggedAndSettledOnesNever) {
    // A journal whose writer stopped with two records unconfirmed (and one confirmed): as a
    // killed process leaves it, but written here (the writer closes, the copies stay open).
    cluster_.create_topic("app", 1);
    {
        SpoolFallback spool(spool_dir(), SpoolOptions{.replay_rate = 0, .journal = true});
        const std::uint64_t confirmed =
            spool.journal(FallbackRecord{.topic = "app", .key = "k0", .payload = "confirmed"});
        ASSERT_NE(
            spool.journal(FallbackRecord{.topic = "app", .key = "k1", .payload = "in flight 1"}),
            0U);
        ASSERT_NE(spool.journal(FallbackRecord{.topic = "app", .payload = "in flight 2"}), 0U);
        ASSERT_NE(confirmed, 0U);
        spool.settle(confirmed);
    }
    const std::vector<SpoolRecord> open = read_spool(spool_dir());
    ASSERT_EQ(open.size(), 2U) << "the settled copy is not read";
    for (const SpoolRecord& r : open) {
        EXPECT_EQ(r.reason, FallbackReason::in_flight);
        EXPECT_TRUE(r.possibly_persisted);
    }

    const RunResult r = run_tool(replay_args());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "replayed 2, skipped as corrupt 0, failed 0, left 0\n") << r.err;
    expect_each_once(open, "app");  // each with kafka_log.replayed: possibly-duplicate
    EXPECT_EQ(segment_count(spool_dir()), 0U);
}

TEST_F(KafkaLogSpoolReplayTest, ASpoolHeldByALiveWriterExitsOneNamingItsPid) {
    cluster_.create_topic("app", 1);
    write_spool(spool_dir(), sample_inputs());
    const SpoolFallback live(spool_dir(), SpoolOptions{.replay_rate = 0});
    const RunResult r = run_tool(replay_args());
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("kafka_log_spool: " + spool_dir().string() +
                         " is held by a live writer (pid " + std::to_string(::getpid()) + "): "),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(read_spool(spool_dir()).size(), 5U);
    EXPECT_EQ(cluster_.message_count("app"), 0U);
}

TEST_F(KafkaLogSpoolReplayTest, ProgressIsPlainLinesWithoutATerminal) {
    cluster_.create_topic("bulk", 2);
    write_spool(spool_dir(), bulk_inputs("bulk", 3000));
    const RunResult r = run_tool(replay_args());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
    const auto lines = test::split_lines(r.err);
    ASSERT_GE(lines.size(), 2U) << r.err;
    EXPECT_EQ(lines.front(), "kafka_log_spool: replaying 3000 records");
    EXPECT_TRUE(lines.back().starts_with("kafka_log_spool: done: replayed 3000/3000 records, "))
        << lines.back();
    EXPECT_NE(lines.back().find(" MB/s, ETA 0:00"), std::string::npos) << lines.back();
    EXPECT_EQ(r.out, "replayed 3000, skipped as corrupt 0, failed 0, left 0\n");
}

TEST_F(KafkaLogSpoolReplayTest, ProgressIsABarRedrawnInPlaceOnATerminal) {
    cluster_.create_topic("bulk", 2);
    write_spool(spool_dir(), bulk_inputs("bulk", 3000));
    const RunResult r = run_tool_on_terminal(replay_args({"--rate", "6000"}));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_GE(std::count(r.out.begin(), r.out.end(), '\r'), 2) << r.out;
    EXPECT_NE(r.out.find("\r["), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("3000/3000 records"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("ETA "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" MB/s"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("kafka_log_spool: replayed"), std::string::npos)
        << "no plain lines on a terminal";
    EXPECT_TRUE(r.out.ends_with("\nreplayed 3000, skipped as corrupt 0, failed 0, left 0\n"))
        << r.out;
}

TEST(KafkaLogSpoolReplayCommandLineTest, BadCommandLinesExitTwoNamingTheProblem) {
    const test::TempDir dir;
    const std::string d = dir.path().string();
    const struct {
        std::vector<std::string> args;
        std::string message;
    } cases[] = {
        {{"replay", d}, "'replay' needs --brokers"},
        {{"replay", d, "--brokers", "127.0.0.1:1", "--rate", "abc"},
         "option '--rate': 'abc' is not a number"},
        {{"replay", d, "--brokers", "127.0.0.1:1", "--rate=-5"},
         "option '--rate': '-5' is not a number"},
        {{"replay", d, "--brokers", "127.0.0.1:1", "--frobnicate"},
         "unknown option '--frobnicate'"},
        {{"replay", "--brokers", "127.0.0.1:1"}, "'replay' needs a spool directory (DIR)"},
        {{"replay", d, "--brokers"}, "option '--brokers' needs a value"},
        {{"replay", d, "--brokers", "127.0.0.1:1", "--dry-run=yes"},
         "option '--dry-run' takes no value"},
        {{"ls", d, "--topic", "t"}, "option '--topic' is an option of 'replay', not of 'ls'"},
    };
    for (const auto& c : cases) {
        const RunResult r = run_tool(c.args);
        EXPECT_EQ(r.exit_code, 2) << c.message;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("--help"), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
}

TEST(KafkaLogSpoolReplayCommandLineTest, AnUnusableProducerConfigExitsTwoNamingFileLineAndKey) {
    const test::TempDir dir;
    const fs::path spool = dir / "spool";
    fs::create_directories(spool);
    const fs::path no_equals = dir / "no_equals.properties";
    write_file(no_equals, "linger.ms=5\nacks\n");
    const fs::path unknown_key = dir / "unknown.properties";
    write_file(unknown_key, "linger.ms=5\n# a comment\nno.such.property=1\n");
    const struct {
        fs::path file;
        std::vector<std::string> expected;
    } cases[] = {
        {no_equals, {no_equals.string() + ":2:", "expected key=value"}},
        {unknown_key, {unknown_key.string() + ":3:", "'no.such.property'"}},
        {dir / "missing.properties", {"cannot read producer config file", "missing.properties"}},
    };
    for (const auto& c : cases) {
        const RunResult r = run_tool({"replay", spool.string(), "--brokers", "127.0.0.1:1",
                                      "--producer-config", c.file.string()});
        EXPECT_EQ(r.exit_code, 2) << r.err;
        for (const auto& text : c.expected) EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
    }
    // A DIR that does not exist is not made.
    const RunResult m =
        run_tool({"replay", (dir / "missing").string(), "--brokers", "127.0.0.1:1"});
    EXPECT_EQ(m.exit_code, 2) << m.err;
    EXPECT_NE(m.err.find("does not exist"), std::string::npos) << m.err;
    EXPECT_FALSE(fs::exists(dir / "missing"));
}

TEST(KafkaLogSpoolReplayCommandLineTest, HelpDescribesReplay) {
    const RunResult r = run_tool({"--help"});
    EXPECT_EQ(r.exit_code, 0);
    for (const char* text :
         {"replay DIR --brokers HOST:PORT", "--producer-config FILE", "--topic T", "--rate N",
          "--dry-run", "replayed N, skipped as corrupt M, failed F, left L"}) {
        EXPECT_NE(r.out.find(text), std::string::npos) << text;
    }
}

}  // namespace
}  // namespace kafka_log
