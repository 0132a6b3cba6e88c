// SPDX-License-Identifier: Apache-2.0
// The fallback boundary (FallbackWriter, FallbackReason) and StreamFallback. FileFallback is in
// file_fallback/.
#include "kafka_log/fallback_writer.hpp"

#include <ostream>

namespace kafka_log {

FallbackWriter::~FallbackWriter() = default;

std::string_view to_string(FallbackReason reason) noexcept {
    switch (reason) {
        case FallbackReason::queue_full:
            return "queue_full";
        case FallbackReason::too_large:
            return "too_large";
        case FallbackReason::delivery_failed:
            return "delivery_failed";
        case FallbackReason::closed:
            return "closed";
        case FallbackReason::unreachable:
            return "unreachable";
        case FallbackReason::reentrant:
            return "reentrant";
        case FallbackReason::in_flight:
            return "in_flight";
    }
    return "unknown";
}

// --- StreamFallback ---------------------------------------------------------------------

bool StreamFallback::write(const FallbackRecord& record, FallbackLossListener* listener) noexcept {
    static_cast<void>(listener);  // written before returning: never a late loss
    std::lock_guard lock(mutex_);
    try {
        stream_.clear();
        stream_.write(record.payload.data(), static_cast<std::streamsize>(record.payload.size()));
        if (record.payload.empty() || record.payload.back() != '\n') stream_.put('\n');
        return !stream_.fail();
    } catch (...) {
        return false;  // a stream with exceptions() enabled
    }
}

bool StreamFallback::flush() noexcept {
    std::lock_guard lock(mutex_);
    try {
        stream_.flush();
        return !stream_.fail();
    } catch (...) {
        return false;
    }
}

}  // namespace kafka_log
