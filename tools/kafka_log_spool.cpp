// SPDX-License-Identifier: Apache-2.0
// kafka_log_spool: lists, prints and verifies a spool directory written by SpoolFallback, and
// replays it to Kafka. ls, cat, verify and `replay --dry-run` are read-only; `replay` changes the
// spool: it takes the directory's lock, marks records in place as it sends them and deletes a
// segment once Kafka has confirmed every record in it (SpoolDrain).
//
// This file is the command line: parsing, the usage text, and the dispatch to a command.

#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kafka_log/spool_reader.hpp"
#include "spool_inspect.hpp"
#include "spool_replay.hpp"
#include "spool_tool_output.hpp"

namespace {

namespace fs = std::filesystem;
using namespace kafka_log::spool_tool;
using kafka_log::SpoolError;

constexpr const char* usage_text =
    "Usage: kafka_log_spool ls|cat|verify DIR\n"
    "       kafka_log_spool replay DIR --brokers HOST:PORT[,...] [--producer-config FILE]\n"
    "                              [--topic T] [--rate N] [--dry-run]\n"
    "       kafka_log_spool --help\n"
    "\n"
    "Reads a spool directory written by kafka_log::SpoolFallback, and replays it to Kafka.\n"
    "ls, cat, verify and replay --dry-run never change the spool; replay does.\n"
    "\n"
    "Commands:\n"
    "  ls DIR      one line per segment file (name, records, bytes on disk, records per\n"
    "              reason, corrupt stretches), then totals: segments, records per reason,\n"
    "              bytes, oldest and newest record time (RFC 3339, UTC), corrupt count.\n"
    "  cat DIR     every record, in write order, as one JSON object per line with the keys\n"
    "              id, topic, key, timestamp_ms, reason, possibly_persisted, error,\n"
    "              headers (an array of {name, value}, in order) and payload. key, payload\n"
    "              and a header's name and value are JSON strings when they are valid UTF-8;\n"
    "              otherwise they are named key_b64, payload_b64, name_b64, value_b64 and\n"
    "              hold standard base64. key is null for a record without a key. Bytes of the\n"
    "              topic that are not valid UTF-8 are printed as U+FFFD.\n"
    "  verify DIR  reads every record and prints 'records N, corrupt M, segments S, torn T'.\n"
    "  replay DIR  sends the spool's records to Kafka, for a spool whose process is gone (a\n"
    "              live application drains its own spool). It takes the directory's lock,\n"
    "              so it refuses a spool a live process holds. Each record keeps its topic,\n"
    "              key, headers and timestamp and gains the headers kafka_log.id (its id)\n"
    "              and kafka_log.replayed ('1', or 'possibly-duplicate' when it may be on\n"
    "              Kafka already). A record is marked in the spool before it is sent and\n"
    "              when Kafka confirms it; a segment is deleted once all of it is on Kafka.\n"
    "              Interrupting it (Ctrl-C, kill -9) loses nothing: run it again and it\n"
    "              sends only what is left, and again only the records that were waiting for\n"
    "              Kafka's answer (at most 1000), flagged possibly-duplicate. It runs passes\n"
    "              over the spool, each waiting up to the producer's message.timeout.ms (and\n"
    "              5 s) for Kafka's answers, until a pass confirms nothing new or two passes\n"
    "              in a row fail without confirming anything. Progress goes to stderr: a bar\n"
    "              redrawn in place on a terminal, otherwise a line every 10000 records or\n"
    "              5 s. At the end it prints on stdout\n"
    "                replayed N, skipped as corrupt M, failed F, left L\n"
    "              N records confirmed on Kafka; M corrupt stretches skipped (their segment\n"
    "              is kept as *.corrupt once its whole records are on Kafka); F sends Kafka\n"
    "              refused or did not confirm (a record tried in two passes counts twice);\n"
    "              L records still in the spool, read back after the run.\n"
    "\n"
    "Options:\n"
    "  -h, --help  print this help and exit.\n"
    "  --          end of options (for a DIR starting with '-').\n"
    "  Of replay (each also as --option=VALUE):\n"
    "  --brokers HOST:PORT[,...]  the cluster (bootstrap.servers). Required.\n"
    "  --producer-config FILE     librdkafka properties, one key=value a line ('#' comments),\n"
    "                             applied after bootstrap.servers and enable.idempotence=true\n"
    "                             (the tool's defaults), so they may override them.\n"
    "  --topic T                  send every record to topic T instead of its own.\n"
    "  --rate N                   records per second, at most (default 10000; 0: unbounded).\n"
    "  --dry-run                  read the spool and print what would be sent: one line per\n"
    "                             topic ('topic T: records N, payload bytes B'), then a total\n"
    "                             line. Sends nothing, changes nothing, takes no lock.\n"
    "\n"
    "Exit status:\n"
    "  0  success (ls and cat also when corrupt stretches were skipped: they are counted in\n"
    "     ls's totals and reported on stderr by cat; verify: no corrupt stretch; replay: no\n"
    "     record left in the spool; replay --dry-run: the spool holds no record).\n"
    "  1  verify found corrupt stretches; or a segment could not be read, has an unknown\n"
    "     format version, or the output could not be written; replay: records are left in\n"
    "     the spool (Kafka unreachable or refusing them), or a live process holds the spool\n"
    "     (the command line was fine: run it again when that process is gone); replay\n"
    "     --dry-run: the spool holds records.\n"
    "  2  bad command line (an unknown option, a missing --brokers or DIR, a bad --rate), a\n"
    "     --producer-config file or property that cannot be used, or DIR does not exist or\n"
    "     is not a directory.\n";

int usage_error(const std::string& what) {
    std::fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", program, what.c_str(),
                 program);
    return 2;
}

/// Reads `--rate`'s value: records per second, a finite number >= 0.
std::optional<double> parse_rate(std::string_view text) {
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() ||
        !std::isfinite(value) || value < 0) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string_view> positional;
    ReplayArgs replay;
    std::string replay_option;  // the first option of replay's given (refused with another command)
    bool brokers_given = false;
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (!options_done && (arg == "-h" || arg == "--help")) {
            std::fputs(usage_text, stdout);
            return std::fflush(stdout) == 0 ? 0 : 1;
        }
        if (options_done || arg.size() <= 1 || arg[0] != '-') {
            positional.push_back(arg);
            continue;
        }
        if (arg == "--") {
            options_done = true;
            continue;
        }
        // --name VALUE or --name=VALUE
        const auto eq = arg.find('=');
        const std::string name(arg.substr(0, eq));
        std::optional<std::string_view> inline_value;
        if (eq != std::string_view::npos && arg.starts_with("--"))
            inline_value = arg.substr(eq + 1);
        if (name == "--dry-run") {
            if (inline_value) return usage_error("option '--dry-run' takes no value");
            replay.dry_run = true;
        } else if (name == "--brokers" || name == "--producer-config" || name == "--topic" ||
                   name == "--rate") {
            std::string_view value;
            if (inline_value) {
                value = *inline_value;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                return usage_error("option '" + name + "' needs a value");
            }
            if (name == "--brokers") {
                if (value.empty())
                    return usage_error(
                        "option '--brokers' needs HOST:PORT[,...], not an empty value");
                replay.brokers = value;
                brokers_given = true;
            } else if (name == "--producer-config") {
                if (value.empty())
                    return usage_error("option '--producer-config' needs a file name");
                replay.producer_config = fs::path(value);
            } else if (name == "--topic") {
                if (value.empty()) return usage_error("option '--topic' needs a topic name");
                replay.topic = value;
            } else {
                const auto rate = parse_rate(value);
                if (!rate) {
                    return usage_error(
                        "option '--rate': '" + std::string(value) +
                        "' is not a number of records per second (0 or more; 0: unbounded)");
                }
                replay.rate = *rate;
            }
        } else {
            return usage_error("unknown option '" + std::string(arg.substr(0, eq)) + "'");
        }
        if (replay_option.empty()) replay_option = name;
    }
    if (positional.empty()) return usage_error("no command given (ls, cat, verify or replay)");
    const std::string command(positional[0]);
    int (*run)(const fs::path&, Output&) = nullptr;
    if (command == "ls") {
        run = run_ls;
    } else if (command == "cat") {
        run = run_cat;
    } else if (command == "verify") {
        run = run_verify;
    } else if (command != "replay") {
        return usage_error("unknown command '" + command + "'");
    }
    if (positional.size() < 2)
        return usage_error("'" + command + "' needs a spool directory (DIR)");
    if (positional.size() > 2)
        return usage_error("unexpected argument '" + std::string(positional[2]) + "'");
    if (run != nullptr && !replay_option.empty()) {
        return usage_error("option '" + replay_option + "' is an option of 'replay', not of '" +
                           command + "'");
    }
    if (run == nullptr && !brokers_given)
        return usage_error("'replay' needs --brokers HOST:PORT[,...]");
    const fs::path dir(positional[1]);
    replay.dir = dir;

    Output out;
    int status = 0;
    try {
        status = run != nullptr ? run(dir, out) : run_replay(replay, out);
    } catch (const SpoolError& e) {
        out.finish();
        std::fprintf(stderr, "%s\n", e.what());
        std::error_code ec;
        return e.path() == dir && !fs::is_directory(dir, ec) ? 2 : 1;
    } catch (const std::exception& e) {
        out.finish();
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return 1;
    }
    if (!out.finish()) return 1;
    return status;
}
