// SPDX-License-Identifier: Apache-2.0
#pragma once
// kafka_log_spool's output: stdout with its failure remembered, and the JSON line of a record.

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "kafka_log/spool_reader.hpp"

namespace kafka_log::spool_tool {

/// The tool's name, at the start of every line it prints on stderr.
inline constexpr const char* program = "kafka_log_spool";

/// Writes to stdout; remembers a failure (a closed pipe, a full disk) for the exit status.
class Output {
public:
    void write(std::string_view text) {
        if (!failed_ && std::fwrite(text.data(), 1, text.size(), stdout) != text.size())
            failed_ = true;
    }
    /// \return false when anything could not be written.
    bool finish() {
        if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) failed_ = true;
        if (failed_)
            std::fprintf(stderr, "%s: cannot write the output: %s\n", program,
                         std::strerror(errno));
        return !failed_;
    }

private:
    bool failed_ = false;
};

/// RFC 3339 in UTC with milliseconds: 2024-05-01T12:34:56.789Z.
std::string rfc3339(std::int64_t ms);

/// One record as `cat` prints it: a JSON object and a newline.
std::string record_json(const SpoolRecord& record);

}  // namespace kafka_log::spool_tool
