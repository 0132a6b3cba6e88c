// SPDX-License-Identifier: Apache-2.0
#include "client_handle.hpp"

#include <string>

#include "../../detail/secret_scrub.hpp"
#include "callback_bridge.hpp"

namespace kafka_log::detail {

namespace {

/// Properties set unless the user's config sets them; see rdkafka_producer.hpp for why.
const ProducerConfig& log_defaults() {
    static const ProducerConfig defaults{
        {"client.id", "kafka_log"},
        {"enable.idempotence", "true"},
        {"queue.buffering.max.messages", "100000"},
        {"queue.buffering.max.kbytes", "65536"},
        {"message.timeout.ms", "30000"},
        {"reconnect.backoff.max.ms", "500"},
    };
    return defaults;
}

}  // namespace

ProducerConfig effective_config(const ProducerConfig& user_config) {
    ProducerConfig config = log_defaults();
    config.merge(user_config);
    if (!config.contains("bootstrap.servers") && !config.contains("test.mock.num.brokers")) {
        throw ConfigError("kafka_log::RdKafkaProducer: 'bootstrap.servers' is not set",
                          "bootstrap.servers");
    }
    return config;
}

ClientHandle::ClientHandle(const ProducerConfig& config, CallbackBridge& bridge) {
    ConfPtr conf(rd_kafka_conf_new());
    char errstr[512];
    for (const auto& [key, value] : config.properties()) {
        if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            const bool secret = ProducerConfig::is_secret(key);  // not on the allow-list
            const std::string reason = scrub_reason(errstr, key, value);
            throw ConfigError("kafka_log::RdKafkaProducer: property '" + key + "' = '" +
                                  (secret ? std::string("***") : value) + "' rejected: " + reason,
                              key);
        }
    }
    // Every callback is served by rd_kafka_poll: logs too (log.queue + set_log_queue).
    if (rd_kafka_conf_set(conf.get(), "log.queue", "true", errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        throw ConfigError(std::string("kafka_log::RdKafkaProducer: log.queue: ") + errstr,
                          "log.queue");
    }
    bridge.install(conf.get());

    rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr));
    if (!rk_) {
        throw ConfigError("kafka_log::RdKafkaProducer: cannot create producer: " +
                          scrub_config(errstr, config));
    }
    conf.release();                              // owned by rk_ now
    rd_kafka_set_log_queue(rk_.get(), nullptr);  // forward logs to the main queue
}

QueueLimits ClientHandle::limits() const noexcept {
    // The values librdkafka itself uses, defaults included.
    const rd_kafka_conf_t* effective = rd_kafka_conf(rk_.get());
    const auto number = [&](const char* key, std::uint64_t fallback) -> std::uint64_t {
        char value[64];
        std::size_t size = sizeof value;
        if (rd_kafka_conf_get(effective, key, value, &size) != RD_KAFKA_CONF_OK) return fallback;
        try {
            return static_cast<std::uint64_t>(std::stoull(value));
        } catch (...) {
            return fallback;
        }
    };
    QueueLimits limits;
    limits.max_records = number("queue.buffering.max.messages", 100000);
    limits.max_bytes = number("queue.buffering.max.kbytes", 1048576) * 1024;
    limits.max_record_bytes = number("message.max.bytes", 1000000);
    return limits;
}

}  // namespace kafka_log::detail
