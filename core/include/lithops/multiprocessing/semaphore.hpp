// mp::Semaphore and mp::BoundedSemaphore: a counter shared by every process of a session.
//
// Handles like mp::Lock (copy, pass to tasks, send through a Queue); Lockable, so the standard
// guards work. The counter is one Redis key; acquire and release are one Lua script each (one
// round trip), and a blocked acquire waits in BLPOP on the semaphore's wake list.
//
// Unlike a Lock, a semaphore has no owner and no lease: a count taken by a process that dies is
// not given back (as in Python, where semaphores are routinely released by another process than
// the one that acquired them).
#pragma once

#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>

#include "lithops/multiprocessing/lock.hpp"

namespace lithops::multiprocessing {

namespace detail {
// bound < 0: unbounded.
ObjectRef semaphore_create(std::string_view kind, long long value, long long bound);
bool semaphore_acquire(const ObjectRef& ref, bool block, Timeout timeout);
void semaphore_release(const ObjectRef& ref, long long bound);
long long semaphore_value(const ObjectRef& ref);
}  // namespace detail

class Semaphore : public detail::Acquirable<Semaphore> {
 public:
  // value < 0 raises mp::ValueError.
  explicit Semaphore(long long value = 1) : Semaphore("semaphore", value, -1) {}

  // See Acquirable: acquire() blocks while the counter is 0, then decrements it.
  //
  // Increments the counter and wakes one waiter. Never blocks. A plain Semaphore is unbounded.
  void release() { detail::semaphore_release(ref_, bound()); }
  // The counter now (one round trip).
  long long get_value() const { return detail::semaphore_value(ref_); }

  const detail::ObjectRef& ref() const { return ref_; }
  explicit Semaphore(detail::ObjectRef ref) : ref_(std::move(ref)) {}

 protected:
  Semaphore(std::string_view kind, long long value, long long bound)
      : ref_(detail::semaphore_create(kind, value, bound)) {}
  long long bound() const;

 private:
  friend class detail::Acquirable<Semaphore>;
  bool acquire_impl(bool block, detail::Timeout timeout) {
    return detail::semaphore_acquire(ref_, block, timeout);
  }
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Semaphore& s) {
    jv = s.ref_.to_json();
  }
  friend Semaphore tag_invoke(boost::json::value_to_tag<Semaphore>, const boost::json::value& jv) {
    return Semaphore(detail::ObjectRef::attach(jv, "semaphore"));
  }
  detail::ObjectRef ref_;
};

// A Semaphore whose release() past the initial value raises mp::ValueError (the counter is
// checked and incremented in one script, so concurrent releases cannot overshoot).
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(long long value = 1) : Semaphore("bsemaphore", value, value) {}
  explicit BoundedSemaphore(detail::ObjectRef ref) : Semaphore(std::move(ref)) {}

 private:
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv,
                         const BoundedSemaphore& s) {
    jv = s.ref().to_json();
  }
  friend BoundedSemaphore tag_invoke(boost::json::value_to_tag<BoundedSemaphore>,
                                     const boost::json::value& jv) {
    return BoundedSemaphore(detail::ObjectRef::attach(jv, "bsemaphore"));
  }
};

}  // namespace lithops::multiprocessing
