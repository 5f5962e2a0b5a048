// mp::Lock and mp::RLock: mutual exclusion between threads of every process of a session.
//
// Both are handles (copy them, pass them to a Process or Pool task, send them through a Queue):
// every copy names the same Redis object. They model Lockable (lock/unlock/try_lock) and
// TimedLockable (try_lock_for/try_lock_until), so std::lock_guard, std::unique_lock and
// std::scoped_lock work with them.
//
// Acquiring and releasing are one round trip each (Lock: SET NX PX, then DEL and the wake push
// pipelined; RLock: one Lua script each); a blocked acquire waits in BLPOP on the lock's wake
// list, woken by the release, and retries at least once a second (see the lease below); it
// never busy-polls. Store failures raise mp::OSError.
//
// Holder death (lease policy): the lock's owner record is a Redis key whose TTL is the lease
// (LockOptions::lease, default 10 s). While a thread holds the lock, one background thread per
// process renews the lease every lease/3. A holder that dies (SIGKILL, lost function instance)
// stops renewing, so the record expires at most `lease` after its last renewal; blocked waiters
// retry at least once a second and take the lock then. The price: a holder whose whole process
// is stalled for longer than the lease (e.g. SIGSTOP) loses the lock without being told.
//
// Owner identity: (process, thread): a random per-process token, the invocation ident and a
// per-thread number. The owner record also names the process, for diagnostics (LK-04/RL-04).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>

#include "lithops/multiprocessing/common.hpp"
#include "lithops/multiprocessing/shared_object.hpp"

namespace lithops::multiprocessing {

struct LockOptions {
  // How long the owner record outlives a holder that stopped renewing it (see above).
  std::chrono::milliseconds lease{10000};
};

namespace detail {

// The acquire/lock spellings shared by every acquirable primitive. `D` provides
// `bool acquire_impl(bool block, Timeout timeout)` and `void release()`.
template <class D>
class Acquirable {
 public:
  // Blocks until acquired; returns true (as Python's acquire()).
  bool acquire() { return self().acquire_impl(true, std::nullopt); }
  // acquire(false) tries once and returns at once.
  bool acquire(bool block) { return self().acquire_impl(block, std::nullopt); }
  // acquire(true, t) waits up to t and returns whether it acquired; acquire(false, t) ignores t
  // (as Python does).
  template <class Rep, class Period>
  bool acquire(bool block, std::chrono::duration<Rep, Period> timeout) {
    return self().acquire_impl(block, to_duration(timeout));
  }
  template <class Rep, class Period>
  bool acquire(std::chrono::duration<Rep, Period> timeout) {
    return self().acquire_impl(true, to_duration(timeout));
  }
  bool try_acquire() { return self().acquire_impl(false, std::nullopt); }

  // Lockable / TimedLockable for the standard guards.
  void lock() { acquire(); }
  bool try_lock() { return try_acquire(); }
  void unlock() { self().release(); }
  template <class Rep, class Period>
  bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
    return acquire(timeout);
  }
  template <class Clock, class Dur>
  bool try_lock_until(std::chrono::time_point<Clock, Dur> deadline) {
    return acquire(deadline - Clock::now());
  }

 private:
  D& self() { return static_cast<D&>(*this); }
};

// Shared by Lock and RLock (sync.cpp); `reentrant` selects the RLock rules.
ObjectRef lock_create(std::string_view kind, const LockOptions& options);
bool lock_acquire(const ObjectRef& ref, bool reentrant, bool block, Timeout timeout);
void lock_release(const ObjectRef& ref, bool reentrant);
bool lock_locked(const ObjectRef& ref);
// Recursion level held by the calling thread (0 if it is not the owner).
long long lock_count_mine(const ObjectRef& ref);
std::string lock_repr(const ObjectRef& ref, bool reentrant);

}  // namespace detail

class Lock : public detail::Acquirable<Lock> {
 public:
  Lock() : Lock(LockOptions{}) {}
  explicit Lock(const LockOptions& options) : ref_(detail::lock_create("lock", options)) {}

  // See Acquirable for the acquire()/lock() spellings. A Lock is not re-entrant: its owner
  // acquiring it again blocks (acquire(false) returns false).
  //
  // Releases the lock, whoever acquired it (no owner check: another thread or process may release
  // a Lock, LK-05). Releasing an unlocked Lock raises mp::ValueError.
  void release() { detail::lock_release(ref_, false); }
  // Whether anyone holds the lock now (one round trip).
  bool locked() const { return detail::lock_locked(ref_); }
  // Python's repr (LK-04), one round trip: "<Lock(owner=None)>" when free, else the holder:
  // this thread's name ("MainProcess", "MainProcess|T2" off the main thread), "SomeOtherThread"
  // for another thread of this process, or the holding process's name ("SomeOtherProcess" if the
  // record names none).
  std::string repr() const { return detail::lock_repr(ref_, false); }

  const detail::ObjectRef& ref() const { return ref_; }
  explicit Lock(detail::ObjectRef ref) : ref_(std::move(ref)) {}

 private:
  friend class detail::Acquirable<Lock>;
  bool acquire_impl(bool block, detail::Timeout timeout) {
    return detail::lock_acquire(ref_, false, block, timeout);
  }
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Lock& l) {
    jv = l.ref_.to_json();
  }
  friend Lock tag_invoke(boost::json::value_to_tag<Lock>, const boost::json::value& jv) {
    return Lock(detail::ObjectRef::attach(jv, "lock"));
  }
  detail::ObjectRef ref_;
};

class RLock : public detail::Acquirable<RLock> {
 public:
  RLock() : RLock(LockOptions{}) {}
  explicit RLock(const LockOptions& options) : ref_(detail::lock_create("rlock", options)) {}

  // Re-entrant: the owning (process, thread) may acquire again; each acquire needs a release.
  //
  // Releases one level. Raises mp::ValueError if the calling thread does not own the lock
  // (Python raises AssertionError/RuntimeError there; RL-01, RL-05).
  void release() { detail::lock_release(ref_, true); }
  bool locked() const { return detail::lock_locked(ref_); }
  // The calling thread's recursion level (0 when it does not own the lock); one round trip.
  long long count() const { return detail::lock_count_mine(ref_); }
  // Python's repr (RL-04), one round trip: "<RLock(None, 0)>" when free, else
  // "<RLock(<holder>, <level>)>", the holder named as in Lock::repr().
  std::string repr() const { return detail::lock_repr(ref_, true); }

  const detail::ObjectRef& ref() const { return ref_; }
  explicit RLock(detail::ObjectRef ref) : ref_(std::move(ref)) {}

 private:
  friend class detail::Acquirable<RLock>;
  bool acquire_impl(bool block, detail::Timeout timeout) {
    return detail::lock_acquire(ref_, true, block, timeout);
  }
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const RLock& l) {
    jv = l.ref_.to_json();
  }
  friend RLock tag_invoke(boost::json::value_to_tag<RLock>, const boost::json::value& jv) {
    return RLock(detail::ObjectRef::attach(jv, "rlock"));
  }
  detail::ObjectRef ref_;
};

}  // namespace lithops::multiprocessing
