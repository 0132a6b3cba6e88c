// SPDX-License-Identifier: Apache-2.0
#include "../detail/record_id.hpp"

#include <pthread.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>

#include "kafka_log/json_writer.hpp"

namespace kafka_log::detail {

RecordIds::RecordIds() {
    make_prefix();
    ::pthread_atfork(nullptr, nullptr, [] { instance().after_fork_in_child(); });
}

void RecordIds::make_prefix() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
        std::snprintf(host, sizeof host, "unknown");
    }
    const std::string quoted =
        JsonWriter::quote(std::string(host) + "-" + std::to_string(::getpid()) + "-");
    prefix_.assign(quoted, 1, quoted.size() - 2);
}

// The child has one thread (the one that forked): nothing else reads the prefix meanwhile.
void RecordIds::after_fork_in_child() noexcept {
    try {
        make_prefix();
    } catch (...) {
        // No memory for the new prefix: the parent's stays, and the child's ids may then
        // repeat ones the parent writes.
    }
    generation_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t RecordIds::next() noexcept {
    thread_local std::uint64_t next_id = 0;
    thread_local std::uint64_t block_end = 0;
    thread_local std::uint64_t block_generation = 0;
    const std::uint64_t now = generation_.load(std::memory_order_relaxed);
    if (next_id == block_end || block_generation != now) {
        next_id = sequence_.fetch_add(block, std::memory_order_relaxed);
        block_end = next_id + block;
        block_generation = now;
    }
    return next_id++;
}

char* RecordIds::write(char* at, bool quoted) noexcept {
    if (quoted) *at++ = '"';
    std::memcpy(at, prefix_.data(), prefix_.size());
    at = std::to_chars(at + prefix_.size(), at + prefix_.size() + 20, next()).ptr;
    if (quoted) *at++ = '"';
    return at;
}

std::string RecordIds::next_id() {
    std::string id(room(), '\0');
    id.resize(static_cast<std::size_t>(write(id.data(), false) - id.data()));
    return id;
}

}  // namespace kafka_log::detail
