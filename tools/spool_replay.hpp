// SPDX-License-Identifier: Apache-2.0
#pragma once
// kafka_log_spool replay: sends a spool's records to Kafka (or, with --dry-run, counts them).

#include <filesystem>
#include <optional>
#include <string>

#include "spool_tool_output.hpp"

namespace kafka_log::spool_tool {

/// What `replay` was asked to do.
struct ReplayArgs {
    std::filesystem::path dir;
    std::string brokers;
    std::optional<std::filesystem::path> producer_config;
    std::string topic;  ///< Empty: every record keeps its own.
    double rate = 10000;
    bool dry_run = false;
};

/// `replay DIR ...`: drains the spool to Kafka, or with `dry_run` prints what it would send.
/// \return the exit status.
int run_replay(const ReplayArgs& args, Output& out);

}  // namespace kafka_log::spool_tool
