// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/atomic_level.hpp"

#include <boost/log/attributes/value_extraction.hpp>

namespace kafka_log {

namespace {

class LevelFilter {
public:
    LevelFilter(std::shared_ptr<std::atomic<int>> threshold, boost::log::attribute_name attribute)
        : threshold_(std::move(threshold)), attribute_(attribute) {}

    bool operator()(const boost::log::attribute_value_set& values) const {
        const auto level =
            boost::log::extract<boost::log::trivial::severity_level>(attribute_, values);
        if (!level) return true;  // no severity: never dropped by a level
        return static_cast<int>(*level) >= threshold_->load(std::memory_order_relaxed);
    }

private:
    std::shared_ptr<std::atomic<int>> threshold_;
    boost::log::attribute_name attribute_;
};

}  // namespace

AtomicLevel::AtomicLevel(level_type level, const std::string& attribute)
    : threshold_(std::make_shared<std::atomic<int>>(static_cast<int>(level))),
      attribute_(attribute) {}

boost::log::filter AtomicLevel::filter() const {
    return boost::log::filter(LevelFilter(threshold_, attribute_));
}

}  // namespace kafka_log
