// SPDX-License-Identifier: Apache-2.0
#pragma once

// RdKafkaProducerTestSeam: what tests (tests/integration) reach inside an RdKafkaProducer and
// nothing else may. Private: not installed, not exported.

namespace kafka_log {
class RdKafkaProducer;
}

namespace kafka_log::detail {

struct RdKafkaProducerTestSeam {
    /// Raises a fatal error of `code` on the producer's current client, as librdkafka's
    /// rd_kafka_test_fatal_error does (its return value: 0, or why it did not).
    static int raise_fatal_error(RdKafkaProducer& producer, int code, const char* reason);
};

}  // namespace kafka_log::detail
