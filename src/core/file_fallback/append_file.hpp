// SPDX-License-Identifier: Apache-2.0
#pragma once

// AppendFile: the text file a FileFallback appends whole lines to.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace kafka_log::detail {

/// \brief A file opened with `O_APPEND` (created 0600) that takes whole records or none: a
/// write that stores part of a record is cut back; a file found ending in a partial line gets
/// a `\n` before the next record. It follows its path: a removed file is created again (with
/// a stderr line), a renamed one is replaced by a new file at the path. It rotates `path` to
/// `path.1`, ... `path.<max_files>` without ever replacing a file.
///
/// Thread safety: none; FileFallback calls it under its mutex.
class AppendFile {
public:
    struct Options {
        std::uint64_t rotate_bytes = 0;  ///< 0: never rotates.
        unsigned max_files = 5;          ///< At least 1.
        bool sync_every_write = false;   ///< fdatasync after every append.
    };

    AppendFile(std::filesystem::path path, Options options) noexcept
        : path_(std::move(path)), options_(options) {}
    AppendFile(const AppendFile&) = delete;
    AppendFile& operator=(const AppendFile&) = delete;
    /// \brief fsyncs and closes.
    ~AppendFile();

    /// \brief (Re)opens the file at the path. \return false, errno set, when it cannot.
    bool open() noexcept;

    /// \brief Makes sure the open file is still the one at the path (reopening after a
    /// removal, or a rename seen at most every 10 ms). \return false when no file is open.
    bool check() noexcept;

    /// \brief Rotates first when `bytes` more would carry the file past `rotate_bytes`
    /// (refused or failed: the file keeps growing).
    void rotate_if_due(std::size_t bytes) noexcept;

    /// \brief True when `bytes` more would carry the file past `rotate_bytes` and rotation is
    /// not blocked by a `path.<max_files>` still there.
    bool rotation_due(std::size_t bytes) const noexcept;

    /// \brief Appends `data` then `tail` (one writev); `record_ends` are the offsets in them
    /// where records end. \return the bytes of whole records in the file: all of them, or,
    /// after a partial write, those of the records that made it whole (the rest is cut back).
    std::size_t append(std::string_view data, std::string_view tail,
                       std::span<const std::size_t> record_ends) noexcept;

    /// \brief fsync. \return false when it failed or no file is open.
    bool sync() noexcept;

    std::uint64_t size() const noexcept { return size_; }
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    bool rotate() noexcept;
    bool end_fragment() noexcept;
    bool write_all(std::string_view first, std::string_view second, std::size_t& written) noexcept;

    std::filesystem::path path_;
    Options options_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    bool fragment_ = false;          // the file ends in a partial line: start the next with \n
    bool rotation_blocked_ = false;  // path.<max_files> exists; told on stderr once
    std::chrono::steady_clock::time_point next_path_check_{};
    std::chrono::steady_clock::time_point removed_notice_at_{};
    std::chrono::steady_clock::time_point sync_notice_at_{};
};

}  // namespace kafka_log::detail
