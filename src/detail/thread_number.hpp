// SPDX-License-Identifier: Apache-2.0
#pragma once

// thread_number(): a small number of the calling thread, handed out in order of first use.
// Striped counters and hand-off lanes pick their stripe with it, so the first threads that
// log each get one of their own (a thread id hash could put two of them on one cache line).

#include <atomic>
#include <cstddef>

namespace kafka_log::detail {

inline std::size_t thread_number() noexcept {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
    return mine;
}

}  // namespace kafka_log::detail
