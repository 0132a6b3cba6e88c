// SPDX-License-Identifier: Apache-2.0
#pragma once

// RAII for librdkafka's C handles. Private: no public header includes librdkafka.

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>

namespace kafka_log::detail {

struct ConfDeleter {
    void operator()(rd_kafka_conf_t* conf) const noexcept { rd_kafka_conf_destroy(conf); }
};
struct HandleDeleter {
    void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
};
struct TopicDeleter {
    void operator()(rd_kafka_topic_t* rkt) const noexcept { rd_kafka_topic_destroy(rkt); }
};
struct MetadataDeleter {
    void operator()(const rd_kafka_metadata_t* md) const noexcept { rd_kafka_metadata_destroy(md); }
};
struct MessageDeleter {
    void operator()(rd_kafka_message_t* m) const noexcept { rd_kafka_message_destroy(m); }
};
struct PartitionListDeleter {
    void operator()(rd_kafka_topic_partition_list_t* l) const noexcept {
        rd_kafka_topic_partition_list_destroy(l);
    }
};

using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

/// Replaces every occurrence of `secret` in `text` with ***.
inline std::string redact_value(std::string text, std::string_view secret) {
    if (secret.empty()) return text;
    for (std::size_t pos = text.find(secret); pos != std::string::npos;
         pos = text.find(secret, pos + 3)) {
        text.replace(pos, secret.size(), "***");
    }
    return text;
}

}  // namespace kafka_log::detail
