// SPDX-License-Identifier: Apache-2.0
#pragma once

// ForkGuard: the locks of every spool held across fork(), so that a child never inherits one
// held by a thread that does not exist there.

namespace kafka_log::detail::spool {

/// \brief An object whose locks must be held across fork().
class ForkLockable {
public:
    /// \brief Takes every lock (in the parent, just before fork()).
    virtual void lock_for_fork() noexcept = 0;
    /// \brief Releases them (in the parent and in the child, just after).
    virtual void unlock_after_fork() noexcept = 0;

protected:
    ~ForkLockable() = default;
};

/// \brief Holds `object`'s locks across every fork() from now until `release_from_fork`.
/// \throws std::bad_alloc
void hold_across_fork(ForkLockable* object);

/// \brief Stops doing so (before `object` goes).
void release_from_fork(ForkLockable* object) noexcept;

}  // namespace kafka_log::detail::spool
