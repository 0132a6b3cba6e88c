// SPDX-License-Identifier: Apache-2.0
#pragma once

// What SpoolDrain reads from a segment to replay it, and where a damaged one is set aside.

#include <cstdint>
#include <filesystem>
#include <vector>

#include "kafka_log/spool_fallback.hpp"
#include "kafka_log/spool_reader.hpp"

namespace kafka_log::detail::spool {

/// \brief The records of a segment to replay.
struct ReplaySource {
    bool gone = false;  ///< The file could not be read (removed meanwhile): nothing to do.
    std::vector<SpoolRecord> records;
    std::uint64_t corrupt = 0;  ///< Corrupt stretches skipped.
};

/// \brief Reads the records of `segment` that a drain sends: all of them, but for a segment of
/// this spool object (`own`) its journal copies, which the writer's producer settles.
/// \throws SpoolError when the file is not a segment a replay can trust (it stays aside).
ReplaySource read_replay_source(const SpoolSegmentRef& segment);

/// \brief Renames a segment whose every whole record is on Kafka but which had corrupt
/// stretches to `<path>.corrupt`, for a person to look at, and says so on stderr.
void set_corrupt_segment_aside(const std::filesystem::path& path) noexcept;

}  // namespace kafka_log::detail::spool
