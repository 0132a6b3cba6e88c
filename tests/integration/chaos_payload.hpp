// SPDX-License-Identifier: Apache-2.0
#pragma once

// The records kafka_log_chaos_child writes, as it and the tests that read them back spell them:
// `run=07 thread=1 seq=000123`, and, when the child is asked for records too large now and then
// (`--big-every N --big-bytes B`), every N-th record of a thread (seq % N == N - 1) is that text,
// a space, and `b` up to B bytes in all.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kafka_log::test {

/// Writes the short form into `buffer` (64 bytes are enough); returns its length.
inline std::size_t chaos_short_payload(char* buffer, std::size_t size, int run, int thread,
                                       std::uint64_t seq) {
    const int n = std::snprintf(buffer, size, "run=%02d thread=%d seq=%06llu", run, thread,
                                static_cast<unsigned long long>(seq));
    return n < 0 ? 0 : static_cast<std::size_t>(n);
}

/// True when record `seq` of a thread is a big one (`big_every` 0: never).
inline bool chaos_is_big(std::uint64_t seq, std::uint64_t big_every) {
    return big_every > 0 && seq % big_every == big_every - 1;
}

/// The big form of a record whose short form is `short_form`.
inline std::string chaos_big_payload(std::string_view short_form, std::size_t big_bytes) {
    std::string out(short_form);
    out += ' ';
    if (out.size() < big_bytes) out.append(big_bytes - out.size(), 'b');
    return out;
}

/// The record `seq` of `thread` in run `run`, whole.
inline std::string chaos_payload(int run, int thread, std::uint64_t seq, std::uint64_t big_every,
                                 std::size_t big_bytes) {
    char buffer[64];
    const std::string_view short_form(buffer,
                                      chaos_short_payload(buffer, sizeof buffer, run, thread, seq));
    return chaos_is_big(seq, big_every) ? chaos_big_payload(short_form, big_bytes)
                                        : std::string(short_form);
}

}  // namespace kafka_log::test
