// SPDX-License-Identifier: Apache-2.0
#include "replay_source.hpp"

#include <unistd.h>

#include <string>
#include <system_error>

#include "../../detail/spool_format.hpp"

namespace kafka_log::detail::spool {

ReplaySource read_replay_source(const SpoolSegmentRef& segment) {
    ReplaySource out;
    std::string bytes;
    if (read_whole_file(segment.path, bytes) != 0) {
        out.gone = true;
        return out;
    }
    SpoolReadStats read_stats;
    SpoolReader::read_segment(
        bytes, segment.path, [&](SpoolRecord&& r) { out.records.push_back(std::move(r)); },
        read_stats);
    out.corrupt = read_stats.corrupt;
    if (segment.own) {
        // This writer's journal copies are with its producer, which settles them: not ours to
        // send.
        std::erase_if(out.records,
                      [](const SpoolRecord& r) { return r.reason == FallbackReason::in_flight; });
    }
    return out;
}

void set_corrupt_segment_aside(const std::filesystem::path& path) noexcept {
    try {
        std::filesystem::path aside = path;
        aside += ".corrupt";
        std::error_code ec;
        std::filesystem::rename(path, aside, ec);
        const std::string line = "kafka_log: '" + path.string() +
                                 "' had corrupt stretches; its records are on Kafka, " +
                                 (ec ? "it stays where it is: " + ec.message()
                                     : "the file is kept as '" + aside.string() + "'") +
                                 "\n";
        [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    } catch (...) {
        // No memory for the name or the line: the segment stays where it is.
    }
}

}  // namespace kafka_log::detail::spool
