// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the kill-chaos test and the soak share: the child process (kafka_log_chaos_child) they
// run, the counts file it publishes into, environment knobs and a look at the spool directory.
// KAFKA_LOG_CHAOS_CHILD must name the built kafka_log_chaos_child.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "chaos_stats.hpp"
#include "test_support.hpp"

#ifndef KAFKA_LOG_CHAOS_CHILD
#error "KAFKA_LOG_CHAOS_CHILD must name the built kafka_log_chaos_child"
#endif

extern char** environ;

namespace kafka_log::test {

constexpr std::size_t chaos_slot_stride = 64;  // as chaos_child.cpp

/// A number from the environment, or `fallback` when the variable is unset or empty.
inline std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    return std::strtoull(text, nullptr, 10);
}

inline std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The counts file a child publishes into, mapped shared here too: the threads' counts, then
/// the counters it publishes every 50 ms (chaos_stats.hpp).
class SharedCounts {
public:
    SharedCounts(const std::filesystem::path& path, int threads)
        : threads_(threads), bytes_(chaos_counts_bytes(threads)) {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(bytes_)) != 0)
            throw std::runtime_error("counts file");
        void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ::close(fd);
        if (p == MAP_FAILED) throw std::runtime_error("mmap counts file");
        base_ = static_cast<std::uint64_t*>(p);
    }
    ~SharedCounts() { ::munmap(base_, bytes_); }
    SharedCounts(const SharedCounts&) = delete;
    SharedCounts& operator=(const SharedCounts&) = delete;

    std::uint64_t of(int thread) const {
        return std::atomic_ref<std::uint64_t>(
                   base_[static_cast<std::size_t>(thread) * (chaos_slot_stride / 8)])
            .load(std::memory_order_acquire);
    }
    std::uint64_t total() const {
        std::uint64_t sum = 0;
        for (int t = 0; t < threads_; ++t) sum += of(t);
        return sum;
    }
    /// The child's last published counters, `name=value ...` (chaos_stat_names; `updates=0`:
    /// none published yet).
    std::string stats_line() const {
        std::uint64_t values[chaos_stat_names.size()];
        std::uint64_t* from = base_ + chaos_stats_offset(threads_) / sizeof(std::uint64_t);
        for (std::size_t i = 0; i < chaos_stat_names.size(); ++i) {
            values[i] = std::atomic_ref<std::uint64_t>(from[i]).load(std::memory_order_acquire);
        }
        return chaos_stats_line(values);
    }

private:
    int threads_;
    std::size_t bytes_;
    std::uint64_t* base_ = nullptr;
};

/// One child process; SIGKILLed and reaped by `kill_and_reap` (or the destructor).
class Child {
public:
    Child(const std::vector<std::string>& args, const std::filesystem::path& stderr_path) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(KAFKA_LOG_CHAOS_CHILD));
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        const int error =
            ::posix_spawn(&pid_, KAFKA_LOG_CHAOS_CHILD, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (error != 0) {
            ADD_FAILURE() << "posix_spawn " << KAFKA_LOG_CHAOS_CHILD << ": "
                          << std::strerror(error);
            pid_ = -1;
        }
    }
    ~Child() { kill_and_reap(); }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    /// False once it ended (and was reaped); `status` then says how.
    bool running() {
        if (pid_ <= 0) return false;
        if (::waitpid(pid_, &status_, WNOHANG) != pid_) return true;
        pid_ = -1;
        return false;
    }
    /// The wait status (`waitpid`) once it ended.
    int status() const { return status_; }

    /// Sends `signal` to the child while it runs.
    void send(int signal) {
        if (pid_ > 0) ::kill(pid_, signal);
    }

    /// Waits up to `deadline` for the child to end by itself; true when it did.
    bool wait_exit(std::chrono::milliseconds deadline) {
        return wait_until([this] { return !running(); }, deadline);
    }

    void kill_and_reap() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
    int status_ = 0;
};

/// Every file name in `dir` (empty when it does not exist).
inline std::vector<std::string> names_in(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        names.push_back(it->path().filename().string());
    }
    return names;
}
inline bool is_segment(const std::string& name) {
    return name.starts_with("seg-") && name.ends_with(".kls");
}
inline std::uint64_t segments_in(const std::filesystem::path& dir) {
    std::uint64_t n = 0;
    for (const auto& name : names_in(dir)) n += is_segment(name) ? 1 : 0;
    return n;
}

}  // namespace kafka_log::test
