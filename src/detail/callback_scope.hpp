// SPDX-License-Identifier: Apache-2.0
#pragma once

// Marks the threads (and the stretches of them) that run producer callbacks, so a record
// logged from inside one — a user's librdkafka log callback that logs through the sink — is
// not produced again from a producer thread (no recursion into the writer).

namespace kafka_log::detail {

inline thread_local bool in_producer_callback = false;

class ProducerCallbackScope {
public:
    ProducerCallbackScope() noexcept : previous_(in_producer_callback) {
        in_producer_callback = true;
    }
    ~ProducerCallbackScope() { in_producer_callback = previous_; }
    ProducerCallbackScope(const ProducerCallbackScope&) = delete;
    ProducerCallbackScope& operator=(const ProducerCallbackScope&) = delete;

private:
    bool previous_;
};

}  // namespace kafka_log::detail
