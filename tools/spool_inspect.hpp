// SPDX-License-Identifier: Apache-2.0
#pragma once
// kafka_log_spool's read-only commands: ls, cat and verify, and the whole-spool tally that
// replay and `replay --dry-run` use.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "kafka_log/spool_reader.hpp"
#include "spool_tool_output.hpp"

namespace kafka_log::spool_tool {

namespace fs = std::filesystem;

/// `ls DIR`: one line per segment, then the totals. \return the exit status.
int run_ls(const fs::path& dir, Output& out);
/// `cat DIR`: every record as a JSON line. \return the exit status.
int run_cat(const fs::path& dir, Output& out);
/// `verify DIR`: the read counters; 1 when a stretch is corrupt. \return the exit status.
int run_verify(const fs::path& dir, Output& out);

/// What a read of the whole spool found.
struct SpoolTally {
    std::uint64_t records = 0;
    std::uint64_t payload_bytes = 0;
    std::uint64_t corrupt = 0;
    std::uint64_t unreadable =
        0;  ///< Segments that could not be read (their records are not counted).
};

/// Reads every segment of `dir`, one at a time, calling `each` for every record. A segment that
/// cannot be read is counted in `unreadable` (and, with `report`, named on stderr); the others
/// are still read. \throws SpoolError when `dir` cannot be listed.
SpoolTally tally_spool(const fs::path& dir, bool report,
                       const std::function<void(const SpoolRecord&)>& each = {});

}  // namespace kafka_log::spool_tool
