// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/fallback_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <system_error>
#include <thread>

#include "../detail/lost_line.hpp"

namespace kafka_log {

namespace {

using Clock = std::chrono::steady_clock;

/// How often a write looks whether `path` still names the open file (a rename is no loss, so
/// a few records going to the renamed file meanwhile are fine).
constexpr std::chrono::milliseconds path_check_interval{10};
/// At most one stderr notice of a kind per this interval.
constexpr std::chrono::seconds notice_interval{10};

bool ends_with_newline(std::string_view record) noexcept {
    return !record.empty() && record.back() == '\n';
}

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
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
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

FallbackWriter::~FallbackWriter() = default;

std::string_view to_string(FallbackReason reason) noexcept {
    switch (reason) {
        case FallbackReason::queue_full: return "queue_full";
        case FallbackReason::too_large: return "too_large";
        case FallbackReason::delivery_failed: return "delivery_failed";
        case FallbackReason::closed: return "closed";
        case FallbackReason::unreachable: return "unreachable";
        case FallbackReason::reentrant: return "reentrant";
        case FallbackReason::in_flight: return "in_flight";
    }
    return "unknown";
}

// --- FileFallback -----------------------------------------------------------------------

/// Records in the buffer stored with the same listener and reason, in buffer order.
struct FileFallback::Pending {
    FallbackLossListener* listener;
    FallbackReason reason;
    std::uint64_t count;
};

/// The thread that writes a buffer once it reached `buffer_max_age`. It waits on `wake` with
/// the fallback's mutex; a write that starts a buffer notifies it.
class FileFallback::Timer {
public:
    std::condition_variable wake;
    bool stop = false;  // guarded by the fallback's mutex
    std::thread thread;
};

FileFallback::FileFallback(std::filesystem::path path, FileFallbackOptions options)
    : path_(std::move(path)), options_(options) {
    options_.max_files = std::max(options_.max_files, 1U);
    if (!open_locked()) {
        throw std::system_error(errno, std::generic_category(),
                                "kafka_log::FileFallback: cannot open '" + path_.string() + "'");
    }
    if (options_.buffer_bytes > 0) {
        try {
            pending_.reserve(8);
            record_ends_.reserve(64);
            timer_ = std::make_unique<Timer>();
            timer_->thread = std::thread([this] { timer_loop(); });
        } catch (...) {
            ::close(fd_);
            throw;
        }
    }
}

FileFallback::~FileFallback() {
    if (timer_ && timer_->thread.joinable()) {
        {
            std::lock_guard lock(mutex_);
            timer_->stop = true;
        }
        timer_->wake.notify_all();
        timer_->thread.join();
    }
    {
        std::lock_guard lock(mutex_);
        flush_buffer_locked();  // a loss still reaches its listener: attached ones are alive
    }
    if (fd_ >= 0) {
        ::fsync(fd_);
        ::close(fd_);
    }
}

bool FileFallback::open_locked() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    // Read access only to look at the last byte; a write-only file is fine too.
    int fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EACCES) fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
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

bool FileFallback::check_file_locked() noexcept {
    if (fd_ < 0) return open_locked();
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return open_locked();
    if (st.st_nlink == 0) {
        if (notice_due(removed_notice_at_)) {
            notice({"kafka_log: ", path_.native(), " was removed; records written to it before are gone"});
        }
        return open_locked();
    }
    const auto now = Clock::now();
    if (now >= next_path_check_) {
        next_path_check_ = now + path_check_interval;
        struct stat named {};
        const bool moved = ::stat(path_.c_str(), &named) != 0
                               ? errno == ENOENT
                               : named.st_ino != st.st_ino || named.st_dev != st.st_dev;
        if (moved) return open_locked();  // its records are where it was moved
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
    return true;
}

bool FileFallback::rotate_locked() noexcept {
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
            if (!rename_no_replace(rotated_name(path_, i - 1), rotated_name(path_, i)) && errno != ENOENT) {
                return false;  // a gap at most; the next rotation tries again
            }
        }
        if (!rename_no_replace(path_.string(), rotated_name(path_, 1))) return false;
    } catch (...) {
        return false;  // no memory for a name: keep appending to the current file
    }
    rotation_blocked_ = false;
    open_locked();
    return true;
}

bool FileFallback::end_fragment_locked() noexcept {
    if (!fragment_) return true;
    std::size_t written = 0;
    if (!write_all_locked("\n", {}, written)) return false;
    size_ += written;
    fragment_ = false;
    return true;
}

bool FileFallback::write_all_locked(std::string_view first, std::string_view second,
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

std::size_t FileFallback::append_locked(std::string_view data, std::string_view tail,
                                        std::span<const std::size_t> record_ends) noexcept {
    const std::size_t total = data.size() + tail.size();
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (fd_ < 0 || !end_fragment_locked()) return 0;
        const std::uint64_t start = size_;
        std::size_t written = 0;
        if (write_all_locked(data, tail, written)) {
            size_ += written;
            if (options_.sync_every_write && ::fdatasync(fd_) != 0 && notice_due(sync_notice_at_)) {
                notice({"kafka_log: ", path_.native(), ": fsync failed: ", std::strerror(errno)});
            }
            return total;
        }
        const int error = errno;
        if (written == 0) {
            // Nothing stored: after a stale handle (not a full disk) reopen and try once more.
            if (attempt == 0 && worth_reopening(error) && open_locked()) continue;
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

bool FileFallback::write(const FallbackRecord& record, FallbackLossListener* listener) noexcept {
    const bool add_newline = !ends_with_newline(record.payload);
    std::lock_guard lock(mutex_);
    if (options_.buffer_bytes > 0) return buffer_locked(record.payload, add_newline, record.reason, listener);
    return write_through_locked(record.payload, add_newline);
}

bool FileFallback::write_through_locked(std::string_view record, bool add_newline) noexcept {
    if (!check_file_locked()) return false;
    const std::size_t line_size = record.size() + (add_newline ? 1 : 0);
    if (options_.rotate_bytes != 0 && size_ != 0 && size_ + line_size > options_.rotate_bytes) {
        rotate_locked();  // refused or failed: keep appending to the current file
    }
    return append_locked(record, add_newline ? "\n" : "", std::span(&line_size, 1)) == line_size;
}

bool FileFallback::buffer_locked(std::string_view record, bool add_newline, FallbackReason reason,
                                 FallbackLossListener* listener) noexcept {
    const std::size_t line_size = record.size() + (add_newline ? 1 : 0);
    const auto now = Clock::now();
    // The buffer is written before this record joins it, never after: a failure then only
    // concerns records already stored. A line that would carry the file past its rotation size
    // goes after what is buffered, so what is buffered is written first.
    const bool rotation_due = options_.rotate_bytes != 0 && !rotation_blocked_ &&
                              size_ + buffer_.size() + line_size > options_.rotate_bytes;
    if (!buffer_.empty() && (rotation_due || buffer_.size() + line_size > options_.buffer_bytes ||
                             now - buffer_since_ >= options_.buffer_max_age)) {
        flush_buffer_locked();
    }
    if (line_size > options_.buffer_bytes) return write_through_locked(record, add_newline);
    const std::size_t old_size = buffer_.size();
    try {
        if (buffer_.capacity() < options_.buffer_bytes) buffer_.reserve(options_.buffer_bytes);
        buffer_.append(record);
        if (add_newline) buffer_.push_back('\n');
        record_ends_.push_back(buffer_.size());
        if (!pending_.empty() && pending_.back().listener == listener && pending_.back().reason == reason) {
            ++pending_.back().count;
        } else {
            pending_.push_back(Pending{listener, reason, 1});
        }
    } catch (...) {
        // No memory for the buffer: take the record back out and write it through.
        buffer_.resize(old_size);
        if (!record_ends_.empty() && record_ends_.back() > old_size) record_ends_.pop_back();
        return write_through_locked(record, add_newline);
    }
    if (old_size == 0) {
        buffer_since_ = now;  // the first line of this buffer
        if (timer_) timer_->wake.notify_one();
    }
    return true;
}

bool FileFallback::flush_buffer_locked() noexcept {
    if (buffer_.empty()) return true;
    std::size_t kept = 0;
    if (check_file_locked()) {
        if (options_.rotate_bytes != 0 && size_ != 0 && size_ + buffer_.size() > options_.rotate_bytes) {
            rotate_locked();
        }
        kept = append_locked(buffer_, {}, record_ends_);
    }
    const bool written = kept == buffer_.size();
    if (!written) {
        const auto records_kept = static_cast<std::size_t>(
            std::upper_bound(record_ends_.begin(), record_ends_.end(), kept) - record_ends_.begin());
        report_lost_locked(records_kept);
    }
    buffer_.clear();
    record_ends_.clear();
    pending_.clear();
    return written;
}

void FileFallback::report_lost_locked(std::size_t records_kept) noexcept {
    // Those records were counted as stored: they go to stderr, and their listener is told.
    for (std::size_t i = records_kept; i < record_ends_.size(); ++i) {
        const std::size_t begin = i == 0 ? 0 : record_ends_[i - 1];
        detail::write_lost_line(std::string_view(buffer_).substr(begin, record_ends_[i] - begin));
    }
    std::uint64_t skip = records_kept;
    for (const Pending& entry : pending_) {
        const std::uint64_t kept_here = std::min(skip, entry.count);
        skip -= kept_here;
        if (entry.count > kept_here && entry.listener != nullptr) {
            entry.listener->on_fallback_loss(entry.reason, entry.count - kept_here);
        }
    }
}

void FileFallback::timer_loop() noexcept {
    std::unique_lock lock(mutex_);
    while (!timer_->stop) {
        if (buffer_.empty()) {
            timer_->wake.wait(lock);
            continue;
        }
        const auto due = buffer_since_ + options_.buffer_max_age;
        if (Clock::now() >= due) {
            flush_buffer_locked();
        } else {
            timer_->wake.wait_until(lock, due);
        }
    }
}

bool FileFallback::flush() noexcept {
    std::lock_guard lock(mutex_);
    const bool buffer_written = flush_buffer_locked();
    return buffer_written && fd_ >= 0 && ::fsync(fd_) == 0;
}

void FileFallback::detach(FallbackLossListener& listener) noexcept {
    std::lock_guard lock(mutex_);
    flush_buffer_locked();  // a failure reports to the listener one last time
    for (Pending& entry : pending_) {
        if (entry.listener == &listener) entry.listener = nullptr;
    }
}

bool FileFallback::reopen() noexcept {
    std::lock_guard lock(mutex_);
    return open_locked();
}

// --- StreamFallback ---------------------------------------------------------------------

bool StreamFallback::write(const FallbackRecord& record, FallbackLossListener* listener) noexcept {
    static_cast<void>(listener);  // written before returning: never a late loss
    std::lock_guard lock(mutex_);
    try {
        stream_.clear();
        stream_.write(record.payload.data(), static_cast<std::streamsize>(record.payload.size()));
        if (!ends_with_newline(record.payload)) stream_.put('\n');
        return !stream_.fail();
    } catch (...) {
        return false;  // a stream with exceptions() enabled
    }
}

bool StreamFallback::flush() noexcept {
    std::lock_guard lock(mutex_);
    try {
        stream_.flush();
        return !stream_.fail();
    } catch (...) {
        return false;
    }
}

}  // namespace kafka_log
