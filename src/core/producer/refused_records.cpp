// SPDX-License-Identifier: Apache-2.0
#include "refused_records.hpp"

#include "delivery_reports.hpp"

namespace kafka_log::detail {

void RefusedRecords::keep(const MessageView& record, DeliveryError error) {
    Copy copy{std::string(record.topic),
              std::string(record.key),
              std::string(record.payload),
              {},
              record.timestamp_ms,
              record.token,
              std::move(error)};
    copy.headers.reserve(record.headers.size());
    for (const RecordHeader& header : record.headers)
        copy.headers.emplace_back(header.name, header.value);
    std::lock_guard lock(mutex_);
    copies_.push_back(std::move(copy));
}

void RefusedRecords::report_all(DeliveryReports& reports) noexcept {
    for (;;) {
        Copy copy;
        {
            std::lock_guard lock(mutex_);
            if (copies_.empty()) return;
            copy = std::move(copies_.front());
            copies_.pop_front();
        }
        std::vector<RecordHeader> headers;
        try {
            headers.reserve(copy.headers.size());
            for (const auto& [name, value] : copy.headers)
                headers.push_back(RecordHeader{name, value});
        } catch (...) {
            // No memory: reported without headers rather than not at all.
        }
        reports.deliver(
            MessageView{copy.topic, copy.key, copy.payload, headers, copy.timestamp_ms, copy.token},
            std::move(copy.error));
    }
}

bool RefusedRecords::empty() const {
    std::lock_guard lock(mutex_);
    return copies_.empty();
}

}  // namespace kafka_log::detail
