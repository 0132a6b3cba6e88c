// SPDX-License-Identifier: Apache-2.0
#include "directory_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "../../detail/spool_format.hpp"
#include "kafka_log/spool_reader.hpp"

namespace kafka_log::detail::spool {

namespace {

std::string errno_text(int error) {
    return std::system_category().message(error);
}

}  // namespace

void DirectoryLock::acquire() {
    make_directory();
    lock_file();
}

void DirectoryLock::make_directory() const {
    std::error_code ec;
    const bool made = std::filesystem::create_directories(dir_, ec);
    if (ec) {
        throw SpoolError("kafka_log::SpoolFallback: cannot create spool directory '" +
                             dir_.string() + "': " + ec.message(),
                         dir_);
    }
    if (made) ::chmod(dir_.c_str(), 0700);
    if (!std::filesystem::is_directory(dir_, ec)) {
        throw SpoolError("kafka_log::SpoolFallback: '" + dir_.string() + "' is not a directory",
                         dir_);
    }
}

void DirectoryLock::lock_file() {
    const auto lock_path = dir_ / lock_file_name;
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw SpoolError("kafka_log::SpoolFallback: cannot open lock file '" + lock_path.string() +
                             "': " + errno_text(errno),
                         dir_);
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        char text[32] = {};
        const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
        ::close(fd);
        if (error == EWOULDBLOCK) {
            std::string pid(text, n > 0 ? static_cast<std::size_t>(n) : 0);
            while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
            const bool ours = pid == std::to_string(::getpid());
            throw SpoolError("kafka_log::SpoolFallback: spool directory '" + dir_.string() +
                                 "' is in use by pid " + (pid.empty() ? std::string("?") : pid) +
                                 (ours ? " (this process)" : "") + " (lock file " +
                                 lock_path.string() + "); one SpoolFallback per directory",
                             dir_);
        }
        throw SpoolError("kafka_log::SpoolFallback: cannot lock '" + lock_path.string() +
                             "': " + errno_text(error),
                         dir_);
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        // The lock holds all the same; only the pid in its message would be missing.
    }
    release();
    lock_fd_ = fd;
}

bool DirectoryLock::removed() const noexcept {
    struct stat st {};
    return lock_fd_ >= 0 && ::fstat(lock_fd_, &st) == 0 && st.st_nlink == 0;
}

void DirectoryLock::release() noexcept {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
}

}  // namespace kafka_log::detail::spool
