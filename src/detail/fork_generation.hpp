// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

namespace kafka_log::detail {

/// How many times this process is a forked child of a process that used kafka_log: 0 in the
/// process that started, incremented in the child at every fork() (a pthread_atfork handler
/// registered the first time this is called). An object records the generation it was made
/// in; a different value means it now lives in a child, where the threads it started (and
/// librdkafka's) do not exist. One relaxed load: cheap enough for every log call.
std::uint64_t fork_generation() noexcept;

/// True when an object made in `generation` is now in a forked child.
inline bool in_forked_child(std::uint64_t generation) noexcept {
    return fork_generation() != generation;
}

}  // namespace kafka_log::detail
