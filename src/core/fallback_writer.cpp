// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/fallback_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ostream>
#include <string>
#include <stdexcept>
#include <system_error>

#include "../detail/lost_line.hpp"

namespace kafka_log {

namespace {

bool ends_with_newline(std::string_view record) noexcept {
    return !record.empty() && record.back() == '\n';
}

std::filesystem::path rotated_name(const std::filesystem::path& path, unsigned index) {
    std::filesystem::path result = path;
    result += "." + std::to_string(index);
    return result;
}

}  // namespace

FallbackWriter::~FallbackWriter() = default;

// --- FileFallback -----------------------------------------------------------------------

FileFallback::FileFallback(std::filesystem::path path, FileFallbackOptions options)
    : path_(std::move(path)), options_(options) {
    options_.max_files = std::max(options_.max_files, 1U);
    if (!open_locked()) {
        throw std::system_error(errno, std::generic_category(),
                                "kafka_log::FileFallback: cannot open '" + path_.string() + "'");
    }
}

FileFallback::~FileFallback() {
    {
        std::lock_guard lock(mutex_);
        loss_handler_ = nullptr;  // its owner may be gone; losses still reach stderr
        flush_buffer_locked();
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
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    struct stat st {};
    size_ = ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    fd_ = fd;
    return true;
}

bool FileFallback::rotate_locked() noexcept {
    try {
        std::error_code ec;
        std::filesystem::remove(rotated_name(path_, options_.max_files), ec);
        for (unsigned i = options_.max_files; i > 1; --i) {
            std::filesystem::rename(rotated_name(path_, i - 1), rotated_name(path_, i), ec);
        }
        std::filesystem::rename(path_, rotated_name(path_, 1), ec);
    } catch (...) {
        // Building a name can only fail to allocate; keep appending to the current file.
    }
    return open_locked();
}

bool FileFallback::write_all_locked(std::string_view record, bool add_newline) noexcept {
    char newline = '\n';
    iovec parts[2] = {{const_cast<char*>(record.data()), record.size()}, {&newline, 1}};
    int count = add_newline ? 2 : 1;
    iovec* next = parts;
    while (count > 0) {
        const ssize_t n = ::writev(fd_, next, count);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        auto left = static_cast<std::size_t>(n);
        size_ += left;
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
    return !options_.sync_every_write || ::fdatasync(fd_) == 0;
}

bool FileFallback::write(std::string_view record) noexcept { return write_tagged(record, untagged); }

bool FileFallback::write_tagged(std::string_view record, unsigned tag) noexcept {
    const bool add_newline = !ends_with_newline(record);
    std::lock_guard lock(mutex_);
    if (options_.buffer_bytes > 0) return buffer_locked(record, add_newline, tag);
    return write_through_locked(record, add_newline);
}

bool FileFallback::write_through_locked(std::string_view record, bool add_newline) noexcept {
    const std::uint64_t line_size = record.size() + (add_newline ? 1 : 0);
    if (fd_ < 0 && !open_locked()) return false;
    if (options_.rotate_bytes != 0 && size_ != 0 && size_ + line_size > options_.rotate_bytes) {
        if (!rotate_locked()) return false;
    }
    const std::uint64_t size_before = size_;
    if (write_all_locked(record, add_newline)) return true;
    // Nothing written (the file was removed under us, a stale handle, ...): reopen and retry
    // once. After a partial write a retry would duplicate the start of the line, so not then.
    if (size_ == size_before && open_locked()) return write_all_locked(record, add_newline);
    return false;
}

bool FileFallback::buffer_locked(std::string_view record, bool add_newline, unsigned tag) noexcept {
    const std::size_t line_size = record.size() + (add_newline ? 1 : 0);
    const auto now = std::chrono::steady_clock::now();
    // A line that would carry the file past its rotation size, or that the buffer cannot
    // hold, goes after what is buffered: write the buffer first.
    // The buffer is written before this record joins it, never after: a failure then only
    // concerns records whose writers already counted them.
    const bool rotation_due = options_.rotate_bytes != 0 && size_ + buffer_.size() + line_size > options_.rotate_bytes;
    if (!buffer_.empty() && (rotation_due || buffer_.size() + line_size > options_.buffer_bytes ||
                             now - buffer_since_ >= options_.buffer_max_age)) {
        flush_buffer_locked();
    }
    if (line_size > options_.buffer_bytes) return write_through_locked(record, add_newline);
    try {
        if (buffer_.capacity() < options_.buffer_bytes) buffer_.reserve(options_.buffer_bytes);
        buffer_.append(record);
        if (add_newline) buffer_.push_back('\n');
    } catch (...) {
        return write_through_locked(record, add_newline);  // no memory for the buffer
    }
    ++buffered_tags_[tag % buffered_tags_.size()];
    if (buffer_.size() == line_size) buffer_since_ = now;  // the first line of this buffer
    return true;
}

bool FileFallback::flush_buffer_locked() noexcept {
    if (buffer_.empty()) return true;
    bool written = false;
    if (fd_ >= 0 || open_locked()) {
        if (options_.rotate_bytes != 0 && size_ != 0 && size_ + buffer_.size() > options_.rotate_bytes) rotate_locked();
        const std::uint64_t size_before = size_;
        written = fd_ >= 0 && write_all_locked(buffer_, false);
        if (!written && size_ == size_before && open_locked()) written = write_all_locked(buffer_, false);
    }
    if (!written) {
        // Those records were counted as stored: they go to stderr, and their writer is told.
        std::string_view rest = buffer_;
        while (!rest.empty()) {
            const std::size_t end = rest.find('\n');
            detail::write_lost_line(rest.substr(0, end));
            rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        }
        for (unsigned tag = 0; tag < buffered_tags_.size(); ++tag) {
            if (buffered_tags_[tag] == 0 || !loss_handler_) continue;
            try {
                loss_handler_(tag, buffered_tags_[tag]);
            } catch (...) {
                // A handler must not throw; the lines are on stderr all the same.
            }
        }
    }
    buffer_.clear();
    buffered_tags_.fill(0);
    return written;
}

bool FileFallback::flush() noexcept {
    std::lock_guard lock(mutex_);
    const bool buffer_written = flush_buffer_locked();
    return buffer_written && fd_ >= 0 && ::fsync(fd_) == 0;
}

void FileFallback::set_deferred_loss_handler(DeferredLossHandler handler) {
    std::lock_guard lock(mutex_);
    if (handler && loss_handler_ && options_.buffer_bytes > 0) {
        // Its losses could not be told to the right writer.
        throw std::logic_error("kafka_log::FileFallback: '" + path_.string() +
                               "' is buffered (buffer_bytes > 0) and already serves a KafkaWriter; "
                               "give each writer its own buffered FileFallback");
    }
    loss_handler_ = std::move(handler);
}

bool FileFallback::reopen() noexcept {
    std::lock_guard lock(mutex_);
    return open_locked();
}

// --- StreamFallback ---------------------------------------------------------------------

bool StreamFallback::write(std::string_view record) noexcept {
    std::lock_guard lock(mutex_);
    try {
        stream_.clear();
        stream_.write(record.data(), static_cast<std::streamsize>(record.size()));
        if (!ends_with_newline(record)) stream_.put('\n');
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
