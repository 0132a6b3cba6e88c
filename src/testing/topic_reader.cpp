// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/testing/topic_reader.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

#include "topic_reading.hpp"

namespace kafka_log {
namespace detail {

namespace {

void quiet_log(const rd_kafka_t*, int, const char*, const char*) {}

void set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
    char errstr[256];
    if (rd_kafka_conf_set(conf, key, value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        throw std::runtime_error(std::string("kafka_log::EmbeddedCluster: ") + key + ": " + errstr);
    }
}

/// An owning copy of a consumed message.
TopicRecord copy_record(const rd_kafka_message_t& m) {
    TopicRecord record;
    if (m.payload) record.payload.assign(static_cast<const char*>(m.payload), m.len);
    record.has_key = m.key != nullptr;
    if (m.key) record.key.assign(static_cast<const char*>(m.key), m.key_len);
    record.partition = m.partition;
    record.offset = m.offset;
    const std::int64_t timestamp = rd_kafka_message_timestamp(&m, nullptr);
    record.timestamp_ms = timestamp < 0 ? 0 : timestamp;
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        headers != nullptr) {
        const std::size_t count = rd_kafka_header_cnt(headers);
        record.headers.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            const char* name = nullptr;
            const void* value = nullptr;
            std::size_t size = 0;
            if (rd_kafka_header_get_all(headers, i, &name, &value, &size) !=
                RD_KAFKA_RESP_ERR_NO_ERROR)
                break;
            record.headers.emplace_back(
                name ? std::string(name) : std::string(),
                value ? std::string(static_cast<const char*>(value), size) : std::string());
        }
    }
    return record;
}

}  // namespace

void check(rd_kafka_resp_err_t err, const std::string& what) {
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw std::runtime_error("kafka_log: " + what + ": " + rd_kafka_err2str(err));
    }
}

ConfPtr quiet_conf() {
    ConfPtr conf(rd_kafka_conf_new());
    rd_kafka_conf_set_log_cb(conf.get(), &quiet_log);
    return conf;
}

/// A consumer that reads by assignment (no group membership, no commits).
HandlePtr new_reader(const std::string& bootstrap, const ProducerConfig& extra) {
    char errstr[512];
    ConfPtr conf = quiet_conf();
    set(conf.get(), "bootstrap.servers", bootstrap);
    set(conf.get(), "enable.auto.commit", "false");
    set(conf.get(), "enable.partition.eof", "true");
    set(conf.get(), "auto.offset.reset", "earliest");
    set(conf.get(), "group.id", "kafka_log-reader");
    for (const auto& [key, value] : extra.properties()) {
        if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            throw ConfigError("kafka_log::read_topic: property '" + key + "' rejected: " +
                                  (ProducerConfig::is_secret(key) ? redact_value(errstr, value)
                                                                  : std::string(errstr)),
                              key);
        }
    }
    HandlePtr rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr));
    if (!rk)
        throw std::runtime_error(std::string("kafka_log::read_topic: cannot create a consumer: ") +
                                 errstr);
    conf.release();
    return rk;
}

/// Partition ids of `topic`.
std::vector<std::int32_t> partitions(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
    TopicPtr rkt(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
    const rd_kafka_metadata_t* raw = nullptr;
    check(rd_kafka_metadata(rk, 0, rkt.get(), &raw, timeout_ms), "metadata of '" + topic + "'");
    MetadataPtr md(raw);
    if (md->topic_cnt != 1)
        throw std::runtime_error("kafka_log: no metadata for topic '" + topic + "'");
    check(md->topics[0].err, "topic '" + topic + "'");
    std::vector<std::int32_t> ids;
    for (int i = 0; i < md->topics[0].partition_cnt; ++i)
        ids.push_back(md->topics[0].partitions[i].id);
    return ids;
}

}  // namespace detail

std::vector<std::string> payloads(const std::vector<TopicRecord>& records) {
    std::vector<std::string> out;
    out.reserve(records.size());
    for (const TopicRecord& record : records) out.push_back(record.payload);
    return out;
}

std::vector<TopicRecord> read_topic(const std::string& bootstrap_servers, const std::string& topic,
                                    std::chrono::milliseconds timeout,
                                    const ProducerConfig& extra) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    detail::HandlePtr consumer = detail::new_reader(bootstrap_servers, extra);
    rd_kafka_t* rk = consumer.get();
    const int timeout_ms = static_cast<int>(timeout.count());
    std::vector<std::int32_t> ids = detail::partitions(rk, topic, timeout_ms);
    std::sort(ids.begin(), ids.end());

    // Read each partition from its low watermark up to the high watermark seen now. A partition
    // is complete when every offset in [low, high) has arrived once: counting offsets, not
    // trusting the last one, keeps a reordered or repeated delivery from ending it early.
    // Records arrive with partitions interleaved; each is stored at its offset's slot, so the
    // result is partition by partition, in offset order.
    detail::PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(ids.size())));
    std::size_t remaining = 0;
    std::vector<std::int64_t> lows;
    std::vector<std::vector<std::optional<TopicRecord>>> arrived;
    std::vector<std::int64_t> missing;
    for (std::int32_t p : ids) {
        std::int64_t low = 0;
        std::int64_t high = 0;
        detail::check(
            rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, timeout_ms),
            "watermarks of '" + topic + "'");
        lows.push_back(low);
        arrived.emplace_back(static_cast<std::size_t>(std::max<std::int64_t>(high - low, 0)));
        missing.push_back(std::max<std::int64_t>(high - low, 0));
        if (high > low) {
            rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = low;
            ++remaining;
        }
    }
    std::vector<TopicRecord> records;
    if (remaining == 0) return records;
    detail::check(rd_kafka_assign(rk, list.get()), "assign '" + topic + "'");

    std::size_t received = 0;
    while (remaining > 0) {
        if (std::chrono::steady_clock::now() >= deadline) {
            rd_kafka_consumer_close(rk);
            throw std::runtime_error("kafka_log::read_topic('" + topic + "') timed out after " +
                                     std::to_string(received) + " records");
        }
        detail::MessagePtr m(rd_kafka_consumer_poll(rk, 100));
        if (!m) continue;
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
            continue;  // EOF or transient: poll on until the deadline
        std::size_t index = 0;
        while (index < ids.size() && ids[index] != m->partition) ++index;
        if (index == ids.size()) continue;
        const std::int64_t slot = m->offset - lows[index];
        if (slot < 0 || slot >= static_cast<std::int64_t>(arrived[index].size())) continue;
        std::optional<TopicRecord>& place = arrived[index][static_cast<std::size_t>(slot)];
        if (place) continue;  // delivered twice
        place = detail::copy_record(*m);
        ++received;
        if (--missing[index] == 0) --remaining;
    }
    rd_kafka_consumer_close(rk);
    records.reserve(received);
    for (auto& partition : arrived) {
        for (auto& record : partition) records.push_back(std::move(*record));
    }
    return records;
}

}  // namespace kafka_log
