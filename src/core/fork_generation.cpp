// SPDX-License-Identifier: Apache-2.0
#include "../detail/fork_generation.hpp"

#include <pthread.h>

#include <atomic>

namespace kafka_log::detail {

namespace {

std::atomic<std::uint64_t> generation{0};

void on_fork_in_child() noexcept {
    generation.fetch_add(1, std::memory_order_relaxed);
}

// Registered at static initialization, so that a fork() before any writer exists is counted
// the same as one after.
const int registered = [] { return ::pthread_atfork(nullptr, nullptr, &on_fork_in_child); }();

}  // namespace

std::uint64_t fork_generation() noexcept {
    static_cast<void>(registered);
    return generation.load(std::memory_order_relaxed);
}

}  // namespace kafka_log::detail
