// SPDX-License-Identifier: Apache-2.0
#include "append_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>

namespace kafka_log::detail {

namespace {

using Clock = std::chrono::steady_clock;

/// How often a write looks whether `path` still names the open file (a rename is no loss, so
/// a few records going to the renamed file meanwhile are fine).
constexpr std::chrono::milliseconds path_check_interval{10};
/// At most one stderr notice of a kind per this interval.
constexpr std::chrono::seconds notice_interval{10};

std::string rotated_name(const std::filesystem::path& path, unsigned index) {
    return path.string() + "." + std::to_string(index);
}

/// One line on stderr, written with a single write(2); never throws.
void notice(std::initializer_list<std::string_view> parts) noexcept {
    try {
        std::string line;
        for (std::string_view part : parts) line += part;
        line += '\n';
        [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    } catch (...) {
        // No memory for the notice: nothing better to do.
    }
}

/// True (and `last` updated) when a notice of this kind may be printed now.
bool notice_due(Clock::time_point& last) noexcept {
    const auto now = Clock::now();
    if (last != Clock::time_point{} && now - last < notice_interval) return false;
    last = now;
    return true;
}

/// rename(2) that never replaces an existing file; false with errno set otherwise.
bool rename_no_replace(const std::string& from, const std::string& to) noexcept {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
        return true;
    }
    if (errno != EINVAL && errno != ENOSYS) return false;
    // The file system cannot rename without replacing: look first (racy, but only with
    // another process rotating the same files).
    struct stat st {};
    if (::lstat(to.c_str(), &st) == 0) {
        errno = EEXIST;
        return false;
    }
    return ::rename(from.c_str(), to.c_str()) == 0;
}

/// Errors after which a reopen may help (a stale handle); not a full disk.
bool worth_reopening(int error) noexcept {
    return error != ENOSPC && error != EDQUOT && error != EFBIG;
}

}  // namespace

AppendFile::~AppendFile() {
    if (fd_ >= 0) {
        ::fsync(fd_);
        ::close(fd_);
    }
}

bool AppendFile::open() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    // Read access only to look at the last byte; a write-only file is fine too.
    int fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EACCES) {
        fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    }
    if (fd < 0) return false;
    struct stat st {};
    size_ = ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    fragment_ = false;
    if (S_ISREG(st.st_mode) && size_ > 0) {
        char last = '\n';
        fragment_ = ::pread(fd, &last, 1, static_cast<off_t>(size_ - 1)) == 1 && last != '\n';
    }
    fd_ = fd;
    next_path_check_ = Clock::now() + path_check_interval;
    return true;
}

bool AppendFile::check() noexcept {
    if (fd_ < 0) return open();
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return open();
    if (st.st_nlink == 0) {
        if (notice_due(removed_notice_at_)) {
            notice({"kafka_log: ", path_.native(),
                    " was removed; records written to it before are gone"});
        }
        return open();
    }
    const auto now = Clock::now();
    if (now >= next_path_check_) {
        next_path_check_ = now + path_check_interval;
        struct stat named {};
        const bool moved = ::stat(path_.c_str(), &named) != 0
                               ? errno == ENOENT
                               : named.st_ino != st.st_ino || named.st_dev != st.st_dev;
        if (moved) return open();  // its records are where it was moved
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
    return true;
}

bool AppendFile::rotation_due(std::size_t bytes) const noexcept {
    return options_.rotate_bytes != 0 && !rotation_blocked_ &&
           size_ + bytes > options_.rotate_bytes;
}

void AppendFile::rotate_if_due(std::size_t bytes) noexcept {
    if (options_.rotate_bytes != 0 && size_ != 0 && size_ + bytes > options_.rotate_bytes) {
        rotate();  // refused or failed: keep appending to the current file
    }
}

bool AppendFile::rotate() noexcept {
    try {
        const std::string last = rotated_name(path_, options_.max_files);
        struct stat st {};
        if (::lstat(last.c_str(), &st) == 0 || errno != ENOENT) {
            if (!rotation_blocked_) {
                rotation_blocked_ = true;
                notice({"kafka_log: ", path_.native(), ": not rotating, ", last,
                        " still holds records; move it away to resume rotation"});
            }
            return false;
        }
        for (unsigned i = options_.max_files; i > 1; --i) {
            if (!rename_no_replace(rotated_name(path_, i - 1), rotated_name(path_, i)) &&
                errno != ENOENT) {
                return false;  // a gap at most; the next rotation tries again
            }
        }
        if (!rename_no_replace(path_.string(), rotated_name(path_, 1))) return false;
    } catch (...) {
        return false;  // no memory for a name: keep appending to the current file
    }
    rotation_blocked_ = false;
    open();
    return true;
}

bool AppendFile::end_fragment() noexcept {
    if (!fragment_) return true;
    std::size_t written = 0;
    if (!write_all("\n", {}, written)) return false;
    size_ += written;
    fragment_ = false;
    return true;
}

bool AppendFile::write_all(std::string_view first, std::string_view second,
                           std::size_t& written) noexcept {
    iovec parts[2] = {{const_cast<char*>(first.data()), first.size()},
                      {const_cast<char*>(second.data()), second.size()}};
    int count = second.empty() ? 1 : 2;
    iovec* next = parts;
    written = 0;
    while (count > 0) {
        const ssize_t n = ::writev(fd_, next, count);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        auto left = static_cast<std::size_t>(n);
        written += left;
        // A short write (disk nearly full, signal): continue where it stopped.
        while (count > 0 && left >= next->iov_len) {
            left -= next->iov_len;
            ++next;
            --count;
        }
        if (count > 0) {
            next->iov_base = static_cast<char*>(next->iov_base) + left;
            next->iov_len -= left;
        }
    }
    return true;
}

std::size_t AppendFile::append(std::string_view data, std::string_view tail,
                               std::span<const std::size_t> record_ends) noexcept {
    const std::size_t total = data.size() + tail.size();
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (fd_ < 0 || !end_fragment()) return 0;
        const std::uint64_t start = size_;
        std::size_t written = 0;
        if (write_all(data, tail, written)) {
            size_ += written;
            if (options_.sync_every_write && ::fdatasync(fd_) != 0 && notice_due(sync_notice_at_)) {
                notice({"kafka_log: ", path_.native(), ": fsync failed: ", std::strerror(errno)});
            }
            return total;
        }
        const int error = errno;
        if (written == 0) {
            // Nothing stored: after a stale handle (not a full disk) reopen and try once more.
            if (attempt == 0 && worth_reopening(error) && open()) continue;
            return 0;
        }
        // Part of it is in the file: keep the whole records, cut the partial one back so no
        // later record joins it. Should the cut fail, the next record starts on a new line.
        std::size_t kept = 0;
        for (const std::size_t end : record_ends) {
            if (end > written) break;
            kept = end;
        }
        const auto cut = static_cast<off_t>(start + kept);
        if (::ftruncate(fd_, cut) == 0) {
            size_ = start + kept;
        } else {
            const int cut_error = errno;
            size_ = start + written;
            fragment_ = true;
            notice({"kafka_log: ", path_.native(), ": could not cut back a partial record (",
                    std::strerror(cut_error), "); it stays as a broken line"});
        }
        return kept;
    }
    return 0;
}

bool AppendFile::sync() noexcept {
    return fd_ >= 0 && ::fsync(fd_) == 0;
}

}  // namespace kafka_log::detail
