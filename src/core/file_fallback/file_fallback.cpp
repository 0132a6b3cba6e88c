// SPDX-License-Identifier: Apache-2.0
// FileFallback: records as lines of an AppendFile, written through or gathered in a buffer
// that a timer writes once it reached its age.
#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "../../detail/lost_line.hpp"
#include "append_file.hpp"
#include "kafka_log/fallback_writer.hpp"

namespace kafka_log {

namespace {

using Clock = std::chrono::steady_clock;

bool ends_with_newline(std::string_view record) noexcept {
    return !record.empty() && record.back() == '\n';
}

detail::AppendFile::Options file_options(const FileFallbackOptions& options) noexcept {
    return {.rotate_bytes = options.rotate_bytes,
            .max_files = std::max(options.max_files, 1U),
            .sync_every_write = options.sync_every_write};
}

}  // namespace

struct KAFKA_LOG_NO_EXPORT FileFallback::Impl {
    /// Records in the buffer stored with the same listener and reason, in buffer order.
    struct Pending {
        FallbackLossListener* listener;
        FallbackReason reason;
        std::uint64_t count;
    };

    Impl(std::filesystem::path path, const FileFallbackOptions& options_in)
        : options(options_in), file(std::move(path), file_options(options_in)) {}

    bool write_through_locked(std::string_view record, bool add_newline) noexcept;
    bool buffer_locked(std::string_view record, bool add_newline, FallbackReason reason,
                       FallbackLossListener* listener) noexcept;
    bool flush_buffer_locked() noexcept;
    void report_lost_locked(std::size_t records_kept) noexcept;
    void timer_loop() noexcept;
    void stop_timer() noexcept;

    FileFallbackOptions options;
    std::mutex mutex;
    detail::AppendFile file;
    // Buffered mode: the lines not yet written, where each record ends in them, and whose
    // records of which reason they hold.
    std::string buffer;
    std::vector<std::size_t> record_ends;
    std::vector<Pending> pending;
    Clock::time_point buffer_since{};
    // The thread that writes a buffer once it reached `buffer_max_age`. It waits on `wake`
    // with `mutex`; a write that starts a buffer notifies it.
    std::condition_variable wake;
    bool stop = false;  // guarded by `mutex`
    std::thread timer;
};

FileFallback::FileFallback(std::filesystem::path path, FileFallbackOptions options)
    : impl_(std::make_unique<Impl>(std::move(path), options)) {
    if (!impl_->file.open()) {
        throw std::system_error(
            errno, std::generic_category(),
            "kafka_log::FileFallback: cannot open '" + impl_->file.path().string() + "'");
    }
    if (options.buffer_bytes > 0) {
        impl_->pending.reserve(8);
        impl_->record_ends.reserve(64);
        impl_->timer = std::thread([impl = impl_.get()] { impl->timer_loop(); });
    }
}

FileFallback::~FileFallback() {
    impl_->stop_timer();
    std::lock_guard lock(impl_->mutex);
    impl_->flush_buffer_locked();  // a loss still reaches its listener: attached ones are alive
}

void FileFallback::Impl::stop_timer() noexcept {
    if (!timer.joinable()) return;
    {
        std::lock_guard lock(mutex);
        stop = true;
    }
    wake.notify_all();
    timer.join();
}

bool FileFallback::write(const FallbackRecord& record, FallbackLossListener* listener) noexcept {
    const bool add_newline = !ends_with_newline(record.payload);
    std::lock_guard lock(impl_->mutex);
    if (impl_->options.buffer_bytes > 0) {
        return impl_->buffer_locked(record.payload, add_newline, record.reason, listener);
    }
    return impl_->write_through_locked(record.payload, add_newline);
}

bool FileFallback::Impl::write_through_locked(std::string_view record, bool add_newline) noexcept {
    if (!file.check()) return false;
    const std::size_t line_size = record.size() + (add_newline ? 1 : 0);
    file.rotate_if_due(line_size);
    return file.append(record, add_newline ? "\n" : "", std::span(&line_size, 1)) == line_size;
}

bool FileFallback::Impl::buffer_locked(std::string_view record, bool add_newline,
                                       FallbackReason reason,
                                       FallbackLossListener* listener) noexcept {
    const std::size_t line_size = record.size() + (add_newline ? 1 : 0);
    const auto now = Clock::now();
    // The buffer is written before this record joins it, never after: a failure then only
    // concerns records already stored. A line that would carry the file past its rotation size
    // goes after what is buffered, so what is buffered is written first.
    if (!buffer.empty() && (file.rotation_due(buffer.size() + line_size) ||
                            buffer.size() + line_size > options.buffer_bytes ||
                            now - buffer_since >= options.buffer_max_age)) {
        flush_buffer_locked();
    }
    if (line_size > options.buffer_bytes) return write_through_locked(record, add_newline);
    const std::size_t old_size = buffer.size();
    try {
        if (buffer.capacity() < options.buffer_bytes) buffer.reserve(options.buffer_bytes);
        buffer.append(record);
        if (add_newline) buffer.push_back('\n');
        record_ends.push_back(buffer.size());
        if (!pending.empty() && pending.back().listener == listener &&
            pending.back().reason == reason) {
            ++pending.back().count;
        } else {
            pending.push_back(Pending{listener, reason, 1});
        }
    } catch (...) {
        // No memory for the buffer: take the record back out and write it through.
        buffer.resize(old_size);
        if (!record_ends.empty() && record_ends.back() > old_size) record_ends.pop_back();
        return write_through_locked(record, add_newline);
    }
    if (old_size == 0) {
        buffer_since = now;  // the first line of this buffer
        if (timer.joinable()) wake.notify_one();
    }
    return true;
}

bool FileFallback::Impl::flush_buffer_locked() noexcept {
    if (buffer.empty()) return true;
    std::size_t kept = 0;
    if (file.check()) {
        file.rotate_if_due(buffer.size());
        kept = file.append(buffer, {}, record_ends);
    }
    const bool written = kept == buffer.size();
    if (!written) {
        const auto records_kept = static_cast<std::size_t>(
            std::upper_bound(record_ends.begin(), record_ends.end(), kept) - record_ends.begin());
        report_lost_locked(records_kept);
    }
    buffer.clear();
    record_ends.clear();
    pending.clear();
    return written;
}

void FileFallback::Impl::report_lost_locked(std::size_t records_kept) noexcept {
    // Those records were counted as stored: they go to stderr, and their listener is told.
    for (std::size_t i = records_kept; i < record_ends.size(); ++i) {
        const std::size_t begin = i == 0 ? 0 : record_ends[i - 1];
        detail::write_lost_line(std::string_view(buffer).substr(begin, record_ends[i] - begin));
    }
    std::uint64_t skip = records_kept;
    for (const Pending& entry : pending) {
        const std::uint64_t kept_here = std::min(skip, entry.count);
        skip -= kept_here;
        if (entry.count > kept_here && entry.listener != nullptr) {
            entry.listener->on_fallback_loss(entry.reason, entry.count - kept_here);
        }
    }
}

void FileFallback::Impl::timer_loop() noexcept {
    std::unique_lock lock(mutex);
    while (!stop) {
        if (buffer.empty()) {
            wake.wait(lock);
            continue;
        }
        const auto due = buffer_since + options.buffer_max_age;
        if (Clock::now() >= due) {
            flush_buffer_locked();
        } else {
            wake.wait_until(lock, due);
        }
    }
}

bool FileFallback::flush() noexcept {
    std::lock_guard lock(impl_->mutex);
    const bool buffer_written = impl_->flush_buffer_locked();
    return buffer_written && impl_->file.sync();
}

void FileFallback::detach(FallbackLossListener& listener) noexcept {
    std::lock_guard lock(impl_->mutex);
    impl_->flush_buffer_locked();  // a failure reports to the listener one last time
    for (Impl::Pending& entry : impl_->pending) {
        if (entry.listener == &listener) entry.listener = nullptr;
    }
}

bool FileFallback::reopen() noexcept {
    std::lock_guard lock(impl_->mutex);
    return impl_->file.open();
}

const std::filesystem::path& FileFallback::path() const noexcept {
    return impl_->file.path();
}

}  // namespace kafka_log
