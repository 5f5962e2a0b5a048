// Pieces of the lock implementation (sync.cpp) that Condition (sync_condition.cpp) reuses.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "lithops/multiprocessing/shared_object.hpp"
#include "store.hpp"

namespace lithops::multiprocessing::detail {

// This (process, thread)'s owner id for lock records: stable for the thread's lifetime.
const std::string& lock_owner_id();

// The lease of a lock handle, from its properties.
std::chrono::milliseconds lock_lease(const ObjectRef& lock);

// One try to take the lock, adding `count` levels (1 for acquire; the saved level when a
// Condition re-acquires). Returns the new level, 0 if someone else holds it.
long long lock_try(const ObjectRef& lock, bool reentrant, long long count);
// The same for an acquirer that blocks: a failed try on a plain Lock also marks the holder's
// value with kWaitedMark, atomically, so the release pushes the wake token it will wait for.
long long lock_try_waiting(const ObjectRef& lock, bool reentrant, long long count);
// Last byte of a plain Lock's value once a blocking acquirer waits for it (Lua '\031').
inline constexpr char kWaitedMark = '\x1f';

// Blocks (at most `timeout`) until attempt() succeeds. Between attempts it waits in BLPOP on
// `wake_key`; the wait is cut into slices of at most a second so a lost wake token (a waiter that
// died after popping it) or an expired lease costs at most that long.
bool wait_until(const std::function<bool()>& attempt, const std::string& wake_key, bool block,
                Timeout timeout);

// The per-process lease renewer: keeps the owner record of each lock this process holds alive.
void lease_hold(const ObjectRef& lock);
void lease_drop(const ObjectRef& lock);
// Stops renewing every lease of this process: a worker calls it when an invocation returns, so a
// lock its target left held is freed a lease later, as if that process had died (the worker
// process itself may stay warm for the next invocation).
void drop_all_leases();

// Key of a lock's wake list.
inline std::string lock_wake_key(const ObjectRef& lock) { return lock.key("wake"); }

}  // namespace lithops::multiprocessing::detail
