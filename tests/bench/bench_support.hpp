// SPDX-License-Identifier: Apache-2.0
#pragma once

// Support for kafka_log's benchmarks: an allocation counter (malloc interposed in the bench
// binary) and RSS readings.

#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

namespace kafka_log::bench {

/// Allocations made by the calling thread so far (malloc, calloc, realloc; operator new
/// goes through malloc).
std::uint64_t thread_allocations() noexcept;

/// Resident set size of this process, in MiB.
inline double rss_mib() {
    std::ifstream statm("/proc/self/statm");
    long pages_total = 0;
    long pages_resident = 0;
    statm >> pages_total >> pages_resident;
    return static_cast<double>(pages_resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) /
           (1024.0 * 1024.0);
}

/// Peak RSS (VmHWM) in MiB; reset_peak_rss() starts a new measurement.
inline double peak_rss_mib() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    }
    return 0;
}
inline void reset_peak_rss() {
    std::ofstream("/proc/self/clear_refs") << "5";
}

}  // namespace kafka_log::bench
