// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/testing/embedded_cluster.hpp"

#include <mutex>
#include <stdexcept>
#include <string>

#include "topic_reading.hpp"
// rdkafka_mock.h must come after rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

namespace kafka_log {
namespace detail {

namespace {

constexpr std::int16_t produce_api_key = 0;  // Kafka protocol ApiKey of Produce

}  // namespace

class EmbeddedClusterImpl {
public:
    explicit EmbeddedClusterImpl(int brokers) : brokers_(brokers) {
        if (brokers < 1)
            throw std::invalid_argument("kafka_log::EmbeddedCluster: brokers must be >= 1");
        char errstr[512];
        ConfPtr conf = quiet_conf();
        owner_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr));
        if (!owner_) throw std::runtime_error(std::string("kafka_log::EmbeddedCluster: ") + errstr);
        conf.release();
        cluster_ = rd_kafka_mock_cluster_new(owner_.get(), brokers);
        if (!cluster_)
            throw std::runtime_error("kafka_log::EmbeddedCluster: cannot start the mock cluster");
        bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    }
    ~EmbeddedClusterImpl() {
        reader_.reset();
        if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
    }

    rd_kafka_mock_cluster_t* cluster() const { return cluster_; }
    const std::string& bootstrap() const { return bootstrap_; }
    int brokers() const { return brokers_; }

    /// A consumer handle on the cluster, for metadata and watermarks; created on first use.
    rd_kafka_t* reader() {
        std::lock_guard lock(mutex_);
        if (!reader_) reader_ = new_reader(bootstrap_, {});
        return reader_.get();
    }

private:
    int brokers_;
    HandlePtr owner_;
    rd_kafka_mock_cluster_t* cluster_ = nullptr;
    std::string bootstrap_;
    std::mutex mutex_;
    HandlePtr reader_;
};

}  // namespace detail

EmbeddedCluster::EmbeddedCluster(int brokers)
    : impl_(std::make_unique<detail::EmbeddedClusterImpl>(brokers)) {}
EmbeddedCluster::~EmbeddedCluster() = default;

std::string EmbeddedCluster::bootstrap_servers() const {
    return impl_->bootstrap();
}
int EmbeddedCluster::brokers() const noexcept {
    return impl_->brokers();
}

void EmbeddedCluster::create_topic(const std::string& name, int partitions, int replication) {
    detail::check(
        rd_kafka_mock_topic_create(impl_->cluster(), name.c_str(), partitions, replication),
        "create_topic('" + name + "')");
}

void EmbeddedCluster::set_broker_down(int id) {
    detail::check(rd_kafka_mock_broker_set_down(impl_->cluster(), id),
                  "set_broker_down(" + std::to_string(id) + ")");
}

void EmbeddedCluster::set_broker_up(int id) {
    detail::check(rd_kafka_mock_broker_set_up(impl_->cluster(), id),
                  "set_broker_up(" + std::to_string(id) + ")");
}

void EmbeddedCluster::set_broker_rtt(int id, int ms) {
    detail::check(rd_kafka_mock_broker_set_rtt(impl_->cluster(), id, ms),
                  "set_broker_rtt(" + std::to_string(id) + ")");
}

void EmbeddedCluster::set_partition_leader(const std::string& topic, int partition, int broker_id) {
    detail::check(
        rd_kafka_mock_partition_set_leader(impl_->cluster(), topic.c_str(), partition, broker_id),
        "set_partition_leader('" + topic + "', " + std::to_string(partition) + ")");
}

void EmbeddedCluster::push_produce_errors(std::size_t count, int code) {
    std::vector<rd_kafka_resp_err_t> errors(count, static_cast<rd_kafka_resp_err_t>(code));
    rd_kafka_mock_push_request_errors_array(impl_->cluster(), detail::produce_api_key, count,
                                            errors.data());
}

std::uint64_t EmbeddedCluster::message_count(const std::string& topic,
                                             std::chrono::milliseconds timeout) const {
    rd_kafka_t* rk = impl_->reader();
    const int timeout_ms = static_cast<int>(timeout.count());
    std::uint64_t total = 0;
    for (std::int32_t p : detail::partitions(rk, topic, timeout_ms)) {
        std::int64_t low = 0;
        std::int64_t high = 0;
        detail::check(
            rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, timeout_ms),
            "watermarks of '" + topic + "' [" + std::to_string(p) + "]");
        total += static_cast<std::uint64_t>(high);
    }
    return total;
}

std::vector<TopicRecord> EmbeddedCluster::read_all(const std::string& topic,
                                                   std::chrono::milliseconds timeout) const {
    return read_topic(impl_->bootstrap(), topic, timeout);
}

}  // namespace kafka_log
