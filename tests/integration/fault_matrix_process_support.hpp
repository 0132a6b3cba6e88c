// SPDX-License-Identifier: Apache-2.0
#pragma once

// Support of fault_matrix_process_test.cpp: a child program started with posix_spawn (this
// threaded test process never forks to run library code, except in the Fork row, whose fault
// is the fork), the board file it publishes into, a forked child that reports through a pipe,
// and the read-back of a topic and a spool as per-payload counts.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fault_child_board.hpp"
#include "integration_support.hpp"
#include "kafka_log/spool_reader.hpp"
#include "kafka_log/testing/topic_reader.hpp"

extern char** environ;

namespace kafka_log::test {

inline std::string file_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The board file, mapped shared here as in the child.
class BoardFile {
public:
    explicit BoardFile(std::filesystem::path path) : path_(std::move(path)) {
        const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ::ftruncate(fd, sizeof(ChildBoard)) != 0) {
            if (fd >= 0) ::close(fd);
            throw std::runtime_error("cannot make the board file " + path_.string());
        }
        void* p = ::mmap(nullptr, sizeof(ChildBoard), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ::close(fd);
        if (p == MAP_FAILED) throw std::runtime_error("cannot map " + path_.string());
        board_ = static_cast<ChildBoard*>(p);
    }
    ~BoardFile() { ::munmap(board_, sizeof(ChildBoard)); }
    BoardFile(const BoardFile&) = delete;
    BoardFile& operator=(const BoardFile&) = delete;

    ChildBoard& operator*() const { return *board_; }
    ChildBoard* operator->() const { return board_; }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    ChildBoard* board_ = nullptr;
};

/// kafka_log_fault_child, started with posix_spawn; killed and reaped by the destructor.
class FaultChild {
public:
    FaultChild(const std::vector<std::string>& args, const std::filesystem::path& stderr_path)
        : stderr_path_(stderr_path) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(KAFKA_LOG_FAULT_CHILD));
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        const int error =
            ::posix_spawn(&pid_, KAFKA_LOG_FAULT_CHILD, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (error != 0) {
            ADD_FAILURE() << "posix_spawn " << KAFKA_LOG_FAULT_CHILD << ": "
                          << std::strerror(error);
            pid_ = -1;
        }
    }
    ~FaultChild() { kill_and_reap(); }
    FaultChild(const FaultChild&) = delete;
    FaultChild& operator=(const FaultChild&) = delete;

    /// True while it runs; once it ended, `status()` says how.
    bool running() {
        if (pid_ <= 0) return false;
        if (::waitpid(pid_, &status_, WNOHANG) != pid_) return true;
        pid_ = -1;
        return false;
    }
    /// Waits (polling, with a deadline) for it to end by itself; false if it did not.
    bool wait_for_end(std::chrono::milliseconds deadline) {
        return wait_until([&] { return !running(); }, deadline);
    }
    int status() const { return status_; }
    std::string said() const { return file_text(stderr_path_); }

    void kill_and_reap() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }

private:
    std::filesystem::path stderr_path_;
    pid_t pid_ = -1;
    int status_ = 0;
};

/// What a forked child reported; `finished` when it exited by itself before the deadline.
struct ForkOutcome {
    bool finished = false;
    int exit_code = -1;
    std::string report;  // empty: every check in the child passed
};

/// Forks; the child runs `body` (which returns its failed checks as text, empty when none),
/// writes that into a pipe and leaves with _exit (never back into GoogleTest). The parent reads
/// until EOF with a deadline (poll, no sleep) and kills a child that overstays it.
inline ForkOutcome run_forked(const std::function<std::string()>& body,
                              std::chrono::milliseconds deadline) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        ADD_FAILURE() << "pipe2: " << std::strerror(errno);
        return {};
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
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
        std::size_t done = 0;
        while (done < report.size()) {
            const ssize_t n = ::write(fds[1], report.data() + done, report.size() - done);
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        ::_exit(report.empty() ? 0 : 1);
    }
    ::close(fds[1]);
    ForkOutcome outcome;
    const auto end = std::chrono::steady_clock::now() + deadline;
    bool eof = false;
    while (!eof) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd pfd{fds[0], POLLIN, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) break;
        char buffer[4096];
        const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            eof = true;
        } else {
            outcome.report.append(buffer, static_cast<std::size_t>(n));
        }
    }
    ::close(fds[0]);
    if (!eof) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!eof) {
        ADD_FAILURE() << "the forked child did not finish within " << deadline.count()
                      << " ms (killed); it said: '" << outcome.report << "'";
        return outcome;
    }
    outcome.finished = true;
    if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) outcome.report += " [signal " + std::to_string(WTERMSIG(status)) + "]";
    return outcome;
}

/// Where the records are after a fault: copies per payload on the topic and in the spool.
struct WhereRecordsAre {
    std::map<std::string, int> topic;
    std::map<std::string, int> spool;
    std::vector<TopicRecord> topic_records;
    std::vector<SpoolRecord> spool_records;
    SpoolReadStats spool_stats;
    std::uint64_t spool_possibly_persisted = 0;  // spool records flagged possibly persisted

    std::uint64_t topic_copies() const { return topic_records.size(); }
    std::uint64_t spool_copies() const { return spool_records.size(); }
    int copies(const std::string& payload) const {
        const auto t = topic.find(payload);
        const auto s = spool.find(payload);
        return (t == topic.end() ? 0 : t->second) + (s == spool.end() ? 0 : s->second);
    }
};

/// Reads the whole topic (through `cluster`) and the whole spool in `spool_dir` (which may not
/// exist: then the spool is empty).
inline WhereRecordsAre read_back(EmbeddedCluster& cluster, const std::string& topic,
                                 const std::filesystem::path& spool_dir) {
    WhereRecordsAre where;
    where.topic_records = cluster.read_all(topic, std::chrono::seconds(20));
    for (const auto& r : where.topic_records) ++where.topic[r.payload];
    if (std::filesystem::exists(spool_dir)) {
        SpoolReader reader(spool_dir);
        SpoolRecord record;
        while (reader.next(record)) {
            ++where.spool[record.payload];
            if (record.possibly_persisted) ++where.spool_possibly_persisted;
            where.spool_records.push_back(record);
        }
        where.spool_stats = reader.stats();
    }
    return where;
}

/// `sent` (unique payloads) against where they are.
struct Accounting {
    std::uint64_t missing = 0;               // neither on the topic nor in the spool
    std::uint64_t duplicates = 0;            // copies beyond the first, topic and spool together
    std::vector<std::string> first_missing;  // up to five
};

/// Accounts for every record of `sent`; a record there or in the spool that is not in `sent`
/// fails the test (naming at most five).
inline Accounting account(const std::vector<std::string>& sent, const WhereRecordsAre& where) {
    std::map<std::string, int> known;
    for (const auto& s : sent) ++known[s];
    Accounting a;
    for (const auto& [payload, n] : known) {
        const int copies = where.copies(payload);
        if (copies == 0 && ++a.missing <= 5) a.first_missing.push_back(payload);
        if (copies > n) a.duplicates += static_cast<std::uint64_t>(copies - n);
    }
    int unknown = 0;
    for (const auto& [payload, n] : where.topic) {
        if (!known.count(payload) && ++unknown <= 5)
            ADD_FAILURE() << "unknown record on the topic: '" << payload << "'";
    }
    for (const auto& [payload, n] : where.spool) {
        if (!known.count(payload) && ++unknown <= 5)
            ADD_FAILURE() << "unknown record in the spool: '" << payload << "'";
    }
    return a;
}

/// `rec-000000` ... `rec-<n-1>`: the payloads kafka_log_fault_child writes.
inline std::vector<std::string> child_payloads(std::uint64_t n) {
    std::vector<std::string> out;
    char text[32];
    for (std::uint64_t i = 0; i < n; ++i) {
        std::snprintf(text, sizeof text, "rec-%06llu", static_cast<unsigned long long>(i));
        out.emplace_back(text);
    }
    return out;
}

}  // namespace kafka_log::test
