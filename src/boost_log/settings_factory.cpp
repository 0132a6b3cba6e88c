// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/settings_factory.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include <boost/log/exceptions.hpp>
#include <boost/log/sinks/async_frontend.hpp>
#include <boost/log/sinks/block_on_overflow.hpp>
#include <boost/log/sinks/bounded_fifo_queue.hpp>
#include <boost/log/sinks/unlocked_frontend.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/setup/filter_parser.hpp>
#include <boost/log/utility/setup/formatter_parser.hpp>
#include <boost/log/utility/setup/from_settings.hpp>
#include <boost/make_shared.hpp>

#include "kafka_log/boost_log/json_formatter.hpp"
#include "kafka_log/boost_log/kafka_sink_backend.hpp"
#include "kafka_log/errors.hpp"
#include "kafka_log/fallback_writer.hpp"
#include "kafka_log/kafka_writer.hpp"
#include "kafka_log/producer_config.hpp"
#include "kafka_log/rdkafka_producer.hpp"
#include "kafka_log/spool_fallback.hpp"
#include "sink_name.hpp"

#include "format_parameter.hpp"

namespace kafka_log {

namespace {

namespace sinks = boost::log::sinks;
using ptree = boost::log::settings_section::property_tree_type;

constexpr std::size_t async_queue_records = 65536;

/// The asynchronous frontend the factory builds. When it is destroyed (remove_all_sinks),
/// records still queued are fed to the backend first, so none is dropped.
class DrainingAsyncSink final
    : public sinks::asynchronous_sink<
          KafkaSinkBackend,
          sinks::bounded_fifo_queue<async_queue_records, sinks::block_on_overflow>> {
public:
    using asynchronous_sink::asynchronous_sink;
    ~DrainingAsyncSink() {
        try {
            stop();
            feed_records();
        } catch (...) {
        }
    }
};

std::mutex& resolver_mutex() {
    static std::mutex mutex;
    return mutex;
}
EmbeddedBrokersResolver& embedded_resolver() {
    static EmbeddedBrokersResolver resolver;
    return resolver;
}

/// What `Brokers=embedded` resolves to; throws invalid_value when nothing was installed.
EmbeddedBrokers resolve_embedded_brokers(const std::string& where) {
    EmbeddedBrokersResolver resolver;
    {
        std::lock_guard lock(resolver_mutex());
        resolver = embedded_resolver();
    }
    if (!resolver) {
        throw boost::log::invalid_value(
            where +
            ": parameter 'Brokers': 'embedded' needs an in-process cluster: link "
            "kafka_log::testing and call kafka_log::enable_embedded_brokers() before "
            "parsing the settings");
    }
    return resolver();
}

/// A writer together with what it needs alive (the embedded brokers, if any); destroyed in
/// that order: the writer closes first.
struct WriterHolder {
    std::shared_ptr<void> brokers;
    std::shared_ptr<KafkaWriter> writer;
};

class KafkaSinkFactory final : public boost::log::sink_factory<char> {
public:
    explicit KafkaSinkFactory(std::string destination) : destination_(std::move(destination)) {}

    boost::shared_ptr<sinks::sink> create_sink(const settings_section& settings) override {
        const ptree& tree = settings.property_tree();
        const std::string where = describe(tree);

        static const char* const known[] = {"Destination",
                                            "Brokers",
                                            "Topic",
                                            "Fallback",
                                            "Spool",
                                            "SpoolMaxBytes",
                                            "SpoolSegmentBytes",
                                            "SpoolJournal",
                                            "SpoolReplayRate",
                                            "FallbackRotationSize",
                                            "FallbackMaxFiles",
                                            "FallbackBufferSize",
                                            "Format",
                                            "Filter",
                                            "KeyAttribute",
                                            "Asynchronous",
                                            "ProducerConfigFile",
                                            "Producer",
                                            "FlushTimeout",
                                            "CloseTimeout",
                                            "Headers",
                                            "Name",
                                            "Level"};
        for (const auto& [key, child] : tree) {
            if (std::find(std::begin(known), std::end(known), key) == std::end(known)) {
                throw boost::log::invalid_value(where + ": unknown parameter '" + key + "'");
            }
        }

        const std::string topic = required(tree, "Topic", where);
        const SinkName named(tree, where);  // Name=, Level=: checked before anything is built
        const std::string brokers = required(tree, "Brokers", where);

        // Producer: the properties file, then Producer.<key>=value lines, then Brokers.
        ProducerConfig config;
        if (auto file = optional_value(tree, "ProducerConfigFile")) {
            try {
                config = ProducerConfig::from_file(*file);
            } catch (const ConfigError& e) {
                throw boost::log::invalid_value(where + ": ProducerConfigFile: " + e.what());
            }
        }
        if (auto producer = tree.get_child_optional("Producer")) flatten(*producer, "", config);
        std::shared_ptr<void> embedded;
        if (brokers == "embedded") {
            EmbeddedBrokers resolved = resolve_embedded_brokers(where);
            config.set("bootstrap.servers", resolved.bootstrap_servers);
            embedded = std::move(resolved.keep_alive);
        } else {
            config.set("bootstrap.servers", brokers);
        }

        FileFallbackOptions fallback_options;
        fallback_options.rotate_bytes = number(tree, "FallbackRotationSize", where, 0);
        fallback_options.max_files =
            static_cast<unsigned>(number(tree, "FallbackMaxFiles", where, 5));
        fallback_options.buffer_bytes =
            static_cast<std::size_t>(number(tree, "FallbackBufferSize", where, 0));
        std::shared_ptr<FallbackWriter> fallback;
        const auto spool_dir = optional_value(tree, "Spool");
        const auto fallback_path = optional_value(tree, "Fallback");
        if (spool_dir && fallback_path) {
            throw boost::log::invalid_value(where +
                                            ": Spool and Fallback are both set; give one of them");
        }
        for (const char* spool_key :
             {"SpoolMaxBytes", "SpoolSegmentBytes", "SpoolJournal", "SpoolReplayRate"}) {
            if (!spool_dir && optional_value(tree, spool_key)) {
                throw boost::log::invalid_value(where + ": parameter '" + spool_key +
                                                "' needs Spool (a spool directory)");
            }
        }
        if (spool_dir) {
            SpoolOptions spool_options;
            spool_options.max_bytes = number(tree, "SpoolMaxBytes", where, spool_options.max_bytes);
            spool_options.segment_bytes =
                number(tree, "SpoolSegmentBytes", where, spool_options.segment_bytes);
            spool_options.journal = boolean(tree, "SpoolJournal", where, false);
            spool_options.replay_rate =
                static_cast<double>(number(tree, "SpoolReplayRate", where,
                                           static_cast<std::uint64_t>(spool_options.replay_rate)));
            try {
                fallback = std::make_shared<SpoolFallback>(*spool_dir, spool_options);
            } catch (const SpoolError& e) {
                throw boost::log::invalid_value(where + ": Spool: " + e.what());
            }
        } else if (fallback_path) {
            try {
                fallback = std::make_shared<FileFallback>(*fallback_path, fallback_options);
            } catch (const std::system_error& e) {
                throw boost::log::invalid_value(where + ": Fallback: " + e.what());
            }
        } else {
            fallback = std::make_shared<StreamFallback>(std::cerr);
        }

        WriterOptions writer_options;
        writer_options.topic = topic;
        writer_options.close_timeout =
            std::chrono::milliseconds(number(tree, "CloseTimeout", where, 5000));
        SinkOptions sink_options;
        sink_options.flush_timeout =
            std::chrono::milliseconds(number(tree, "FlushTimeout", where, 5000));
        if (auto key = optional_value(tree, "KeyAttribute")) sink_options.key_attribute = *key;
        if (auto names = optional_value(tree, "Headers"))
            sink_options.header_attributes = attribute_names(*names, "Headers", where);

        std::shared_ptr<RdKafkaProducer> producer;
        try {
            producer = std::make_shared<RdKafkaProducer>(config);
        } catch (const ConfigError& e) {
            const std::string param =
                e.key().empty() ? std::string("Producer") : "Producer." + e.key();
            throw boost::log::invalid_value(where + ": " + param + ": " + e.what());
        }
        auto holder = std::make_shared<WriterHolder>();
        holder->brokers = std::move(embedded);
        holder->writer = std::make_shared<KafkaWriter>(producer, fallback, writer_options);
        std::shared_ptr<KafkaWriter> writer(holder,
                                            holder->writer.get());  // keeps the holder alive
        auto backend = boost::make_shared<KafkaSinkBackend>(std::move(writer), sink_options);

        const bool asynchronous = boolean(tree, "Asynchronous", where, false);
        boost::shared_ptr<sinks::basic_formatting_sink_frontend<char>> sink;
        if (asynchronous) {
            auto async = boost::make_shared<DrainingAsyncSink>(backend);
            async->set_exception_handler([] {
                try {
                    throw;
                } catch (const std::exception& e) {
                    std::cerr << "kafka_log: a record could not be formatted: " << e.what() << "\n";
                } catch (...) {
                    std::cerr << "kafka_log: a record could not be formatted\n";
                }
            });
            sink = async;
        } else {
            sink = boost::make_shared<sinks::unlocked_sink<KafkaSinkBackend>>(backend);
        }

        sink->set_formatter(
            detail::format_parameter(optional_value(tree, "Format").value_or("json"), where));
        if (auto filter = optional_value(tree, "Filter"))
            sink->set_filter(detail::filter_parameter(*filter, where));
        named.attach(*sink, tree, std::shared_ptr<KafkaWriter>(holder, holder->writer.get()));
        return sink;
    }

private:
    static std::string lower(std::string s) {
        std::transform(s.begin(), s.end(), s.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        return s;
    }

    std::string describe(const ptree& tree) const {
        std::string text = "kafka_log: [Sinks.*] section with Destination=" + destination_;
        if (auto topic = tree.get_optional<std::string>("Topic")) text += ", Topic=" + *topic;
        return text;
    }

    static std::optional<std::string> optional_value(const ptree& tree, const char* key) {
        if (auto child = tree.get_child_optional(key)) return child->data();
        return std::nullopt;
    }

    static std::string required(const ptree& tree, const char* key, const std::string& where) {
        auto value = optional_value(tree, key);
        if (!value || value->empty()) {
            throw boost::log::missing_value(where + ": parameter '" + key + "' is required");
        }
        return *value;
    }

    static std::uint64_t number(const ptree& tree, const char* key, const std::string& where,
                                std::uint64_t fallback) {
        const auto value = optional_value(tree, key);
        if (!value) return fallback;
        try {
            std::size_t used = 0;
            const unsigned long long n = std::stoull(*value, &used);
            if (used == value->size() && (*value)[0] != '-') return n;
        } catch (...) {
        }
        throw boost::log::invalid_value(where + ": parameter '" + key +
                                        "' must be a non-negative integer, got '" + *value + "'");
    }

    static bool boolean(const ptree& tree, const char* key, const std::string& where,
                        bool fallback) {
        const auto value = optional_value(tree, key);
        if (!value) return fallback;
        const std::string v = lower(*value);
        if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
        if (v == "false" || v == "0" || v == "no" || v == "off") return false;
        throw boost::log::invalid_value(where + ": parameter '" + key +
                                        "' must be true or false, got '" + *value + "'");
    }

    /// `TraceID, Service`: comma-separated attribute names, blanks around each trimmed.
    static std::vector<std::string> attribute_names(const std::string& value, const char* key,
                                                    const std::string& where) {
        std::vector<std::string> names;
        std::size_t start = 0;
        for (;;) {
            const std::size_t comma = std::min(value.find(',', start), value.size());
            const std::size_t first = value.find_first_not_of(" \t", start);
            std::size_t last = value.find_last_not_of(" \t", comma == 0 ? 0 : comma - 1);
            if (first >= comma || last == std::string::npos || last < first) {
                throw boost::log::invalid_value(
                    where + ": parameter '" + key + "': attribute name " +
                    std::to_string(names.size() + 1) + " is empty in '" + value + "'");
            }
            names.push_back(value.substr(first, last + 1 - first));
            if (comma == value.size()) return names;
            start = comma + 1;
        }
    }

    /// `Producer.linger.ms=5` arrives as nested nodes Producer -> linger -> ms.
    static void flatten(const ptree& node, const std::string& prefix, ProducerConfig& config) {
        for (const auto& [key, child] : node) {
            const std::string name = prefix.empty() ? key : prefix + "." + key;
            if (!child.data().empty() || child.empty()) config.set(name, child.data());
            if (!child.empty()) flatten(child, name, config);
        }
    }

    std::string destination_;
};

}  // namespace

void register_boost_log_factory(std::string_view destination) {
    const std::string name(destination);
    boost::log::register_sink_factory(name.c_str(), boost::make_shared<KafkaSinkFactory>(name));
    // So that `Filter="%Severity% >= info"` and `%Severity%` in a Format work out of the box
    // with boost::log::trivial; an application with its own severity type registers it after.
    boost::log::register_simple_filter_factory<boost::log::trivial::severity_level, char>(
        "Severity");
    boost::log::register_simple_formatter_factory<boost::log::trivial::severity_level, char>(
        "Severity");
}

void set_embedded_brokers_resolver(EmbeddedBrokersResolver resolver) {
    std::lock_guard lock(resolver_mutex());
    embedded_resolver() = std::move(resolver);
}

}  // namespace kafka_log
