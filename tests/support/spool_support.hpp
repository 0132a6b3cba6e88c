// SPDX-License-Identifier: Apache-2.0
// Reading a spool directory back in tests: its records (through SpoolReader) and its segment
// files.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "kafka_log/spool_reader.hpp"

namespace kafka_log::test {

/// Every record SpoolReader returns from `dir`, in write order; its counts in `stats` if given.
inline std::vector<SpoolRecord> read_spool_records(const std::filesystem::path& dir,
                                                   SpoolReadStats* stats = nullptr) {
    SpoolReader reader(dir);
    std::vector<SpoolRecord> out;
    SpoolRecord r;
    while (reader.next(r)) out.push_back(r);
    if (stats != nullptr) *stats = reader.stats();
    return out;
}

/// The segment files (`seg-*.kls`) in `dir`.
inline std::size_t spool_segment_count(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.starts_with("seg-") && name.ends_with(".kls")) ++n;
    }
    return n;
}

}  // namespace kafka_log::test
