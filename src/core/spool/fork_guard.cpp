// SPDX-License-Identifier: Apache-2.0
#include "fork_guard.hpp"

#include <pthread.h>

#include <mutex>
#include <set>

namespace kafka_log::detail::spool {

namespace {

std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
}

std::set<ForkLockable*>& registry() {
    static std::set<ForkLockable*> r;
    return r;
}

void before_fork() noexcept {
    registry_mutex().lock();
    for (ForkLockable* object : registry()) object->lock_for_fork();
}

void after_fork() noexcept {
    for (ForkLockable* object : registry()) object->unlock_after_fork();
    registry_mutex().unlock();
}

}  // namespace

void hold_across_fork(ForkLockable* object) {
    static const int once = ::pthread_atfork(&before_fork, &after_fork, &after_fork);
    static_cast<void>(once);
    std::lock_guard lock(registry_mutex());
    registry().insert(object);
}

void release_from_fork(ForkLockable* object) noexcept {
    std::lock_guard lock(registry_mutex());
    registry().erase(object);
}

}  // namespace kafka_log::detail::spool
