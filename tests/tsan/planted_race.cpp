// SPDX-License-Identifier: Apache-2.0
// kafka_log_tsan_planted_race (ThreadSanitizer builds only): a data race planted in a delivery
// handler, which runs on the producer's poll thread under librdkafka's frames (rd_kafka_poll,
// then our callback bridge). The handler writes a plain int; main waits on a relaxed flag (no
// happens-before) and reads it. TsanPlantedRaceTest runs this program with the suppressions of
// tests/support/tsan.supp and expects the race reported: what they leave out of librdkafka
// hides nothing of ours. Exit codes: 66 TSan's report, 0 the race was missed, 2 set-up failed.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>

#include "kafka_log/producer_config.hpp"
#include "kafka_log/rdkafka_producer.hpp"
#include "kafka_log/testing/embedded_cluster.hpp"

namespace {

int planted_value = 0;  // written on the poll thread, read on main: no synchronization at all
std::atomic<bool> handler_ran{false};

[[gnu::noinline]] void planted_race_write() {
    planted_value = 1;
}

[[gnu::noinline]] int planted_race_read() {
    return planted_value;
}

int run() {
    using namespace std::chrono_literals;
    kafka_log::EmbeddedCluster cluster;
    cluster.create_topic("planted", 1, 1);
    kafka_log::RdKafkaProducer producer(
        kafka_log::ProducerConfig{{"bootstrap.servers", cluster.bootstrap_servers()}});
    producer.set_delivery_handler([](const kafka_log::DeliveryReport&) {
        planted_race_write();
        handler_ran.store(true, std::memory_order_relaxed);  // relaxed: orders nothing
    });
    kafka_log::MessageView message;
    message.topic = "planted";
    message.payload = "x";
    if (producer.produce(message) != kafka_log::ProduceStatus::accepted) {
        std::fputs("kafka_log_tsan_planted_race: the producer refused the record\n", stderr);
        return 2;
    }
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!handler_ran.load(std::memory_order_relaxed)) {
        if (std::chrono::steady_clock::now() > deadline) {
            std::fputs("kafka_log_tsan_planted_race: no delivery report in 60 s\n", stderr);
            return 2;
        }
        std::this_thread::yield();
    }
    std::printf("read %d\n", planted_race_read());
    producer.close(5s);
    return 0;
}

}  // namespace

int main() {
    try {
        return run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kafka_log_tsan_planted_race: %s\n", e.what());
        return 2;
    }
}
