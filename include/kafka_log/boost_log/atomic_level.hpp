// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// \brief AtomicLevel: a severity threshold that changes at runtime, read lock-free.

#include <atomic>
#include <memory>
#include <string>

#include <boost/log/attributes/attribute_name.hpp>
#include <boost/log/expressions/filter.hpp>
#include <boost/log/trivial.hpp>

#include "kafka_log/export.hpp"

namespace kafka_log {

/// \brief A shared severity threshold: `filter()` lets a record through when its severity is
/// at least the current level. `set()` from any thread (an admin endpoint, a signal handling
/// thread) takes effect on the next record, without touching the core's configuration.
///
/// \code
///   kafka_log::AtomicLevel level(boost::log::trivial::info);
///   sink->set_filter(level.filter());
///   ...
///   level.set(boost::log::trivial::debug);   // from any thread
/// \endcode
///
/// Copies share the same threshold. Records without a severity attribute pass.
///
/// Thread safety: every member may be called from any thread; the filter reads one atomic
/// integer (relaxed), no lock.
class KAFKA_LOG_EXPORT AtomicLevel {
public:
    using level_type = boost::log::trivial::severity_level;

    /// \param attribute name of the severity attribute (`boost::log::trivial::severity_level`).
    explicit AtomicLevel(level_type level, const std::string& attribute = "Severity");

    void set(level_type level) noexcept {
        threshold_->store(static_cast<int>(level), std::memory_order_relaxed);
    }
    level_type get() const noexcept {
        return static_cast<level_type>(threshold_->load(std::memory_order_relaxed));
    }
    /// \brief True when a record of severity `level` passes now.
    bool enabled(level_type level) const noexcept {
        return static_cast<int>(level) >= threshold_->load(std::memory_order_relaxed);
    }

    /// \brief A Boost.Log filter reading this threshold.
    boost::log::filter filter() const;

private:
    std::shared_ptr<std::atomic<int>> threshold_;
    boost::log::attribute_name attribute_;
};

}  // namespace kafka_log
