// mp::Condition: a condition variable over an mp::Lock or mp::RLock, across processes.
//
// A handle (copy, pass to tasks, send through a Queue); Lockable through its lock, so
//   std::unique_lock g(cond); cond.wait_for([&] { return ready.value() == 1; });
// works. Each waiter has its own wake list: wait() releases the lock and registers the waiter in
// one Lua script (so no notify can slip in between), then blocks in BLPOP on its list; notify(n)
// pops up to n registered waiters and pushes to their lists. The condition's keys share the
// lock's Redis Cluster hash tag, so both scripts touch a single slot.
#pragma once

#include <chrono>
#include <limits>
#include <optional>

#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>

#include "lithops/multiprocessing/lock.hpp"

namespace lithops::multiprocessing {

class Condition : public detail::Acquirable<Condition> {
 public:
  // A new RLock underneath (Python's default).
  Condition() : Condition(RLock()) {}
  explicit Condition(const Lock& lock) : Condition(lock.ref(), false) {}
  explicit Condition(const RLock& lock) : Condition(lock.ref(), true) {}

  // acquire()/release()/lock()/unlock() act on the underlying lock (see Lock and RLock).
  void release() { detail::lock_release(lock_, reentrant_); }

  // Releases the lock (fully, whatever an RLock's recursion level), blocks until notified, then
  // re-acquires it (restoring the level). Raises mp::ValueError if the calling thread does not
  // hold the lock (Python: RuntimeError/AssertionError, CO-09).
  void wait() { wait_impl(std::nullopt); }
  // As wait(), for at most `timeout`; returns false if it timed out. The lock is re-acquired
  // either way (that part is not bounded by the timeout, as in Python).
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) {
    return wait_impl(detail::to_duration(timeout));
  }
  // Waits until pred() holds (pred is checked with the lock held, first before any wait);
  // returns the last pred() value, i.e. true.
  template <class Pred>
  bool wait_for(Pred pred) {
    bool result = pred();
    while (!result) {
      wait();
      result = pred();
    }
    return result;
  }
  // As wait_for(pred) for at most `timeout` in all; returns the last pred() value.
  template <class Pred, class Rep, class Period>
  bool wait_for(Pred pred, std::chrono::duration<Rep, Period> timeout) {
    const auto deadline = std::chrono::steady_clock::now() + detail::to_duration(timeout);
    bool result = pred();
    while (!result) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= detail::Duration::zero()) break;
      wait(left);
      result = pred();
    }
    return result;
  }
  // Wakes up to n waiters (fewer if fewer wait; none is remembered for later waiters). Raises
  // mp::ValueError if the calling thread does not hold the lock. One round trip.
  void notify(long long n = 1) { notify_impl(n); }
  void notify_all() { notify_impl(std::numeric_limits<long long>::max()); }

  const detail::ObjectRef& ref() const { return ref_; }
  explicit Condition(detail::ObjectRef ref);

 private:
  Condition(const detail::ObjectRef& lock, bool reentrant);
  friend class detail::Acquirable<Condition>;
  bool acquire_impl(bool block, detail::Timeout timeout) {
    return detail::lock_acquire(lock_, reentrant_, block, timeout);
  }
  bool wait_impl(detail::Timeout timeout);
  void notify_impl(long long n);
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Condition& c) {
    jv = c.ref_.to_json();
  }
  friend Condition tag_invoke(boost::json::value_to_tag<Condition>, const boost::json::value& jv) {
    return Condition(detail::ObjectRef::attach(jv, "condition"));
  }

  detail::ObjectRef ref_;   // props: the lock's handle and the waiters list key
  detail::ObjectRef lock_;  // keeps the lock alive as long as the condition
  bool reentrant_ = true;
};

}  // namespace lithops::multiprocessing
