// SPDX-License-Identifier: Apache-2.0
// glog_basic: glog's LOG() lines shipped to Kafka as JSON (an embedded cluster unless --brokers
// is given), then read back.
//
//   glog_basic [--brokers HOST:PORT,...] [--topic NAME]

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <glog/logging.h>

#include <kafka_log/glog/glog_kafka_sink.hpp>
#include <kafka_log/kafka_writer.hpp>
#include <kafka_log/rdkafka_producer.hpp>
#include <kafka_log/spool_fallback.hpp>
#include <kafka_log/testing/embedded_cluster.hpp>
#include <kafka_log/testing/topic_reader.hpp>

int main(int argc, char** argv) {
    using namespace std::chrono_literals;
    std::string brokers;
    std::string topic = "glog-basic";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--brokers")
            brokers = argv[i + 1];
        else if (flag == "--topic")
            topic = argv[i + 1];
        else {
            std::cerr << "usage: glog_basic [--brokers HOST:PORT,...] [--topic NAME]\n";
            return 2;
        }
    }
    google::InitGoogleLogging(argv[0]);
    FLAGS_logtostderr = true;  // glog's own output stays on stderr; the sink ships the lines

    std::unique_ptr<kafka_log::EmbeddedCluster> cluster;
    if (brokers.empty()) {
        cluster = std::make_unique<kafka_log::EmbeddedCluster>();
        brokers = cluster->bootstrap_servers();
    }
    auto producer = std::make_shared<kafka_log::RdKafkaProducer>(
        kafka_log::ProducerConfig{{"bootstrap.servers", brokers}});
    auto writer = std::make_shared<kafka_log::KafkaWriter>(
        producer,
        std::make_shared<kafka_log::SpoolFallback>(std::filesystem::temp_directory_path() /
                                                   ("glog_basic-" + std::to_string(::getpid()))),
        kafka_log::WriterOptions{.topic = topic});
    kafka_log::GlogKafkaSink sink(writer);
    {
        kafka_log::ScopedGlogSink registered(sink);  // google::AddLogSink ... RemoveLogSink
        LOG(INFO) << "service started";
        LOG(WARNING) << "cache at " << 91 << "%";
        LOG(ERROR) << "payment declined for order " << 7;
    }
    // Shutdown: the sink is unregistered; flush, then close the writer.
    writer->flush(5s);
    writer->close(5s);

    const auto s = writer->stats();
    const auto records = kafka_log::read_topic(brokers, topic, 30s);
    std::cout << "topic '" << topic << "':\n";
    for (const auto& r : records) std::cout << "  " << r.payload << "\n";
    const bool ok =
        s.balanced() && s.submitted == 3 && s.lost == 0 && records.size() + s.fallback_total() >= 3;
    std::cout << (ok ? "OK" : "FAILED") << ": submitted " << s.submitted << ", delivered "
              << s.delivered << ", fallback " << s.fallback_total() << "\n";
    return ok ? 0 : 1;
}
