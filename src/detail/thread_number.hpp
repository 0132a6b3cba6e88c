// SPDX-License-Identifier: Apache-2.0
#pragma once

// thread_number<Sequence>(): a small number of the calling thread, handed out in order of
// first use, one sequence per tag. Striped counters and hand-off lanes pick their stripe with
// it, so the first threads that log each get one of their own (a thread id hash could put two
// of them on one cache line). Each user has its own sequence, so a thread that only ever
// serves one of them (a producer thread counting delivery reports) does not use up a number
// of the other (a lane that logging threads would then share).

#include <atomic>
#include <cstddef>

namespace kafka_log::detail {

template <typename Sequence>
std::size_t thread_number() noexcept {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
    return mine;
}

}  // namespace kafka_log::detail
