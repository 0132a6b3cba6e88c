// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/producer_config.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <sstream>

namespace kafka_log {

namespace {

std::string_view trim(std::string_view s) noexcept {
    const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

/// Keys whose values are harmless (documented in producer_config.hpp); sorted, for binary search.
constexpr std::string_view printable_keys[] = {
    "acks",
    "allow.auto.create.topics",
    "api.version.fallback.ms",
    "api.version.request",
    "api.version.request.timeout.ms",
    "auto.offset.reset",
    "batch.num.messages",
    "batch.size",
    "bootstrap.servers",
    "broker.address.family",
    "broker.address.ttl",
    "broker.version.fallback",
    "client.dns.lookup",
    "client.id",
    "client.rack",
    "compression.codec",
    "compression.level",
    "compression.type",
    "connections.max.idle.ms",
    "debug",
    "delivery.report.only.error",
    "delivery.timeout.ms",
    "enable.auto.commit",
    "enable.gapless.guarantee",
    "enable.idempotence",
    "enable.partition.eof",
    "enable.sasl.oauthbearer.unsecure.jwt",
    "enable.ssl.certificate.verification",
    "group.id",
    "linger.ms",
    "log.connection.close",
    "log.queue",
    "log.thread.name",
    "log_level",
    "max.in.flight",
    "max.in.flight.requests.per.connection",
    "message.copy.max.bytes",
    "message.max.bytes",
    "message.send.max.retries",
    "message.timeout.ms",
    "metadata.broker.list",
    "metadata.max.age.ms",
    "partitioner",
    "queue.buffering.backpressure.threshold",
    "queue.buffering.max.kbytes",
    "queue.buffering.max.messages",
    "queue.buffering.max.ms",
    "receive.message.max.bytes",
    "reconnect.backoff.jitter.ms",
    "reconnect.backoff.max.ms",
    "reconnect.backoff.ms",
    "request.required.acks",
    "request.timeout.ms",
    "retries",
    "retry.backoff.max.ms",
    "retry.backoff.ms",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.service.name",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.oauthbearer.method",
    "security.protocol",
    "socket.connection.setup.timeout.ms",
    "socket.keepalive.enable",
    "socket.max.fails",
    "socket.nagle.disable",
    "socket.receive.buffer.bytes",
    "socket.send.buffer.bytes",
    "socket.timeout.ms",
    "ssl.ca.certificate.stores",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.cipher.suites",
    "ssl.crl.location",
    "ssl.curves.list",
    "ssl.endpoint.identification.algorithm",
    "ssl.key.location",
    "ssl.keystore.location",
    "ssl.sigalgs.list",
    "statistics.interval.ms",
    "sticky.partitioning.linger.ms",
    "test.mock.num.brokers",
    "topic.metadata.propagation.max.ms",
    "topic.metadata.refresh.fast.interval.ms",
    "topic.metadata.refresh.interval.ms",
    "topic.metadata.refresh.sparse",
    "transaction.timeout.ms",
};
static_assert(std::is_sorted(std::begin(printable_keys), std::end(printable_keys)));

/// librdkafka's property names (plugins' included) use only these characters. Anything else
/// in a "key" (a space, a ':') suggests a value ended up there, so the key is not printed.
bool is_key_name(std::string_view key) noexcept {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
    });
}

/// The first word of a line without '=', when it is an allow-listed key: then it is surely a
/// key name, not a value on a line of its own.
std::string first_word_if_printable(std::string_view line) {
    const std::size_t end = std::min(line.find_first_of(" \t:"), line.size());
    const std::string_view word = line.substr(0, end);
    return ProducerConfig::is_printable(word) ? std::string(word) : std::string();
}

constexpr std::string_view not_shown = " (the line is not shown: it may hold a value)";

}  // namespace

ProducerConfig::ProducerConfig(std::initializer_list<Property> properties) {
    for (const auto& [key, value] : properties) set(key, value);
}

ProducerConfig ProducerConfig::from_string(std::string_view text, std::string_view source) {
    ProducerConfig config;
    std::vector<int> first_line;  // parallel to config.properties_
    int line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const std::size_t end = text.find('\n');
        std::string_view raw = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
        const std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') continue;

        const std::string where = std::string(source) + ":" + std::to_string(line_number) + ": ";
        const std::size_t eq = line.find('=');
        if (eq == std::string_view::npos) {
            const std::string word = first_word_if_printable(line);
            throw ConfigError(where + "expected key=value" +
                                  (word.empty() ? std::string(not_shown)
                                                : " (the line starts with '" + word +
                                                      "'; the rest is not shown)"),
                              word, line_number, std::string(source));
        }
        const std::string key(trim(line.substr(0, eq)));
        const std::string value(trim(line.substr(eq + 1)));
        if (key.empty()) {
            throw ConfigError(where + "empty key before '='" + std::string(not_shown), {},
                              line_number, std::string(source));
        }
        if (!is_key_name(key)) {
            throw ConfigError(where + "a key may hold only letters, digits, '.', '_' and '-'" +
                                  std::string(not_shown),
                              {}, line_number, std::string(source));
        }
        const auto& props = config.properties_;
        const auto found = std::find_if(props.begin(), props.end(),
                                        [&](const Property& p) { return p.first == key; });
        if (found != props.end()) {
            const int previous = first_line[static_cast<std::size_t>(found - props.begin())];
            throw ConfigError(where + "key '" + key + "' repeated (first set on line " +
                                  std::to_string(previous) + ")",
                              key, line_number, std::string(source));
        }
        config.properties_.emplace_back(key, value);
        first_line.push_back(line_number);
    }
    return config;
}

ProducerConfig ProducerConfig::from_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError("cannot read producer config file '" + path.string() + "'", {}, 0,
                          path.string());
    }
    std::ostringstream text;
    text << in.rdbuf();
    return from_string(text.str(), path.string());
}

ProducerConfig& ProducerConfig::set(std::string key, std::string value) {
    for (auto& [k, v] : properties_) {
        if (k == key) {
            v = std::move(value);
            return *this;
        }
    }
    properties_.emplace_back(std::move(key), std::move(value));
    return *this;
}

ProducerConfig& ProducerConfig::merge(const ProducerConfig& other) {
    for (const auto& [key, value] : other.properties_) set(key, value);
    return *this;
}

std::optional<std::string> ProducerConfig::get(std::string_view key) const {
    for (const auto& [k, v] : properties_) {
        if (k == key) return v;
    }
    return std::nullopt;
}

bool ProducerConfig::is_printable(std::string_view key) noexcept {
    return std::binary_search(std::begin(printable_keys), std::end(printable_keys), key);
}

std::string ProducerConfig::redacted() const {
    std::string out;
    for (const auto& [key, value] : properties_) {
        out += key;
        out += '=';
        out += is_secret(key) ? std::string("***") : value;
        out += '\n';
    }
    return out;
}

}  // namespace kafka_log
