// SPDX-License-Identifier: Apache-2.0
#pragma once

// DirectoryLock: the spool directory made (0700) and held by one spool object at a time.

#include <filesystem>

namespace kafka_log::detail::spool {

/// \brief Makes the spool directory and holds its lock file (`LOCK`, holding the pid), so that
/// a second spool on the same directory, in this process or another, is refused.
///
/// Thread safety: none; the spool calls it under its own mutex.
class DirectoryLock {
public:
    explicit DirectoryLock(std::filesystem::path directory) : dir_(std::move(directory)) {}
    DirectoryLock(const DirectoryLock&) = delete;
    DirectoryLock& operator=(const DirectoryLock&) = delete;
    ~DirectoryLock() { release(); }

    /// \brief Makes the directory (with its parents) and takes its lock.
    /// \throws SpoolError naming the directory when it cannot be made or locked, and the pid
    /// that holds it when another spool does.
    void acquire();

    /// \brief True when the directory (or its lock file) was removed since `acquire`.
    bool removed() const noexcept;

    /// \brief Closes the lock file: another spool may take the directory.
    void release() noexcept;

    const std::filesystem::path& directory() const noexcept { return dir_; }

private:
    void make_directory() const;
    void lock_file();

    std::filesystem::path dir_;
    int lock_fd_ = -1;
};

}  // namespace kafka_log::detail::spool
