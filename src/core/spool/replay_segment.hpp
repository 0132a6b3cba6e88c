// SPDX-License-Identifier: Apache-2.0
#pragma once

// ReplaySegment: one segment a SpoolDrain is replaying, and the marks it leaves in its frames.

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>

#include "../../detail/spool_format.hpp"

namespace kafka_log::detail::spool {

/// \brief A segment being replayed: its records sent and not yet answered, and how its pass
/// went. It marks each frame's state in place (held, being replayed, replayed) through its
/// own descriptor, which it closes when it goes.
///
/// Thread safety: none; SpoolDrain guards it with its mutex (`mark` needs none).
struct ReplaySegment {
    std::filesystem::path path;
    int fd = -1;
    std::uint64_t outstanding = 0;
    bool sending_done = false;  // the pass is done sending from it
    bool all_sent = false;      // every record of it was sent (none skipped)
    bool failed = false;        // a record of it failed or was refused
    bool corrupt = false;  // it has corrupt stretches: kept, renamed, once its records are on Kafka

    ReplaySegment() = default;
    ReplaySegment(const ReplaySegment&) = delete;
    ReplaySegment& operator=(const ReplaySegment&) = delete;
    ~ReplaySegment() {
        if (fd >= 0) ::close(fd);
    }

    /// \brief Sets the state word of the frame at `offset` (`state_held`, `state_replaying`,
    /// `state_replayed`); nothing when the file could not be opened.
    void mark(std::uint64_t offset, std::uint32_t state) const noexcept {
        if (fd < 0) return;
        [[maybe_unused]] const ssize_t n =
            ::pwrite(fd, &state, sizeof state, static_cast<off_t>(offset + frame_state_offset));
    }
};

}  // namespace kafka_log::detail::spool
