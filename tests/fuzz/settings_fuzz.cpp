// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: a Boost.Log settings text through Boost's parser and kafka_log's sink
// factory. Whatever the text, either an exception derived from std::exception with a message
// comes out, or the sinks are made, take a record, and go (closing their writers) without a
// crash, a leak or a sanitizer report.
//
// Everything that would leave the process is pinned first: every sink section is a Kafka sink
// whose brokers are 127.0.0.1:9 (nothing listens: records go to the fallback), its spool or
// fallback lives in a private directory, no properties file is read, and only producer
// properties that stay on loopback pass through.
#include <unistd.h>
#include <boost/log/attributes/constant.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/setup/from_settings.hpp>
#include <boost/log/utility/setup/settings_parser.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka_log/boost_log/settings_factory.hpp"

namespace {

namespace logging = boost::log;
namespace fs = std::filesystem;

#define CHECK(condition)                    \
    do {                                    \
        if (!(condition)) __builtin_trap(); \
    } while (false)

/// Producer properties a fuzzed section may set: none of them reaches beyond the brokers given
/// (no token endpoint, no file to read, no mock cluster, no debug flood on stderr).
bool passes(std::string_view property) {
    static constexpr std::string_view allowed[] = {"acks",
                                                   "linger.ms",
                                                   "batch.size",
                                                   "batch.num.messages",
                                                   "compression.type",
                                                   "compression.codec",
                                                   "enable.idempotence",
                                                   "message.max.bytes",
                                                   "message.timeout.ms",
                                                   "queue.buffering.max.messages",
                                                   "queue.buffering.max.kbytes",
                                                   "retries",
                                                   "retry.backoff.ms",
                                                   "request.timeout.ms",
                                                   "statistics.interval.ms",
                                                   "client.id",
                                                   "partitioner",
                                                   "socket.timeout.ms",
                                                   "max.in.flight"};
    for (std::string_view a : allowed)
        if (property == a) return true;
    return false;
}

using ptree = logging::settings::section::property_tree_type;

/// Every leaf of `node` under its dotted key.
void leaves(const ptree& node, const std::string& prefix,
            std::vector<std::pair<std::string, std::string>>& out) {
    for (const auto& [name, child] : node) {
        const std::string key = prefix.empty() ? name : prefix + "." + name;
        if (child.empty()) {
            out.emplace_back(key, child.data());
        } else {
            leaves(child, key, out);
        }
    }
}

/// Rewrites the sink sections so that nothing leaves the process or its directory.
void pin(logging::settings& settings, const fs::path& dir) {
    auto sinks = settings.property_tree().get_child_optional("Sinks");
    if (!sinks) return;
    int n = 0;
    for (auto& [name, sink] : *sinks) {
        ++n;
        sink.put("Destination", "Kafka");
        sink.put("Brokers", "127.0.0.1:9");
        sink.put("CloseTimeout", "0");
        sink.put("FlushTimeout", "0");
        sink.erase("ProducerConfigFile");
        const bool spool = sink.get_child_optional("Spool").has_value();
        if (spool) sink.put("Spool", (dir / ("spool-" + std::to_string(n))).string());
        if (sink.get_child_optional("Fallback") || !spool)
            sink.put("Fallback", (dir / ("fallback-" + std::to_string(n) + ".log")).string());
        if (auto producer = sink.get_child_optional("Producer")) {
            std::vector<std::pair<std::string, std::string>> properties;
            leaves(*producer, "", properties);
            ptree kept;
            for (const auto& [key, value] : properties) {
                if (passes(key)) kept.put(ptree::path_type(key, '.'), value);
            }
            *producer = kept;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    kafka_log::register_boost_log_factory();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fs::path dir =
        fs::temp_directory_path() / ("kafka_log_settings_fuzz-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto core = logging::core::get();
    try {
        std::istringstream text(std::string(reinterpret_cast<const char*>(data), size));
        logging::settings settings = logging::parse_settings(text);
        pin(settings, dir);
        logging::init_from_settings(settings);
        logging::sources::severity_logger<logging::trivial::severity_level> logger;
        logger.add_attribute("Service", logging::attributes::constant<std::string>("fuzz"));
        BOOST_LOG_SEV(logger, logging::trivial::error) << "a record through the fuzzed sinks";
    } catch (const std::exception& e) {
        CHECK(std::string_view(e.what()).size() > 0);
    }
    core->flush();
    core->remove_all_sinks();
    core->reset_filter();
    core->set_logging_enabled(true);
    std::error_code ignored;
    fs::remove_all(dir, ignored);
    return 0;
}
