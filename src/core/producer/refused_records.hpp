// SPDX-License-Identifier: Apache-2.0
#pragma once

// RefusedRecords: records librdkafka refused at produce() for a reason the caller cannot act
// on (an unknown or unauthorized topic, a fatal producer error). produce() answers `accepted`
// for them and keeps a copy here; the poll thread then reports each one failed, with
// librdkafka's reason, so the caller's contract stays "accepted, then one report" and the
// record reaches the caller's fallback.
//
// Thread safety: keep() from any thread; report_all() from the serving thread.

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "kafka_log/async_producer.hpp"

namespace kafka_log::detail {

class DeliveryReports;

class RefusedRecords {
public:
    RefusedRecords() = default;
    RefusedRecords(const RefusedRecords&) = delete;
    RefusedRecords& operator=(const RefusedRecords&) = delete;

    /// Copies the record (topic, key, payload, headers, timestamp, token) to report it failed
    /// with `error`. \throws std::bad_alloc: nothing is kept, the record is still the caller's.
    void keep(const MessageView& record, DeliveryError error);

    /// Reports every kept record, oldest first, through `reports`; never throws.
    void report_all(DeliveryReports& reports) noexcept;

    /// True when no record waits for its report.
    bool empty() const;

private:
    struct Copy {
        std::string topic;
        std::string key;
        std::string payload;
        std::vector<std::pair<std::string, std::string>> headers;
        std::int64_t timestamp_ms = 0;
        std::uint64_t token = 0;
        DeliveryError error;
    };

    mutable std::mutex mutex_;
    std::deque<Copy> copies_;
};

}  // namespace kafka_log::detail
