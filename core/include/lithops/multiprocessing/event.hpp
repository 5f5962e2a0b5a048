// mp::Event: a flag shared by every process of the session (multiprocessing.Event).
//
//   mp::Event ev;                      // created unset
//   mp::Process p(waiter, ev); p.start();
//   ev.set();                          // wakes every waiter, in any process
//
// An Event is a handle (see shared_object.hpp): copies, and copies passed to a Process or Pool
// task or through a Queue, name the same flag. The creating process owns it: when its last copy
// goes away the Redis keys are deleted, so keep one alive while children use it.
#pragma once

#include <chrono>
#include <string>

#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include "lithops/multiprocessing/common.hpp"
#include "lithops/multiprocessing/shared_object.hpp"

namespace lithops::multiprocessing {

class Event {
 public:
  // A new, unset event in this session (starts the session's runtime if needed).
  Event();

  // True once set() was called and clear() was not called since. One round trip.
  bool is_set() const;
  // Sets the flag and wakes every current waiter, in every process, at once. Atomic (one script):
  // a waiter either sees the flag or is woken.
  void set();
  // Resets the flag; later wait() calls block until the next set(). Waiters already woken by a
  // set() stay woken.
  void clear();
  // Blocks until the flag is set (returns true at once if it is). Never busy-polls: the waiter
  // blocks in Redis. Throws mp::OSError if the store is lost.
  bool wait() const;
  // Python's repr (EV-02): "<Event at 0x... set>" or "... unset>" (the handle's address; one
  // round trip).
  std::string repr() const;
  // As wait(), for at most `timeout` (zero or negative: just look). Returns the flag's state as
  // Python does: true if set (or woken by a set()) within the timeout, false otherwise.
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) const {
    return wait_for(detail::to_duration(timeout));
  }

  // Handle conversion (Process/Pool arguments, Queue items).
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Event& e) {
    jv = e.ref_.to_json();
  }
  friend Event tag_invoke(boost::json::value_to_tag<Event>, const boost::json::value& jv) {
    return Event(detail::ObjectRef::attach(jv, "event"));
  }

 private:
  explicit Event(detail::ObjectRef ref) : ref_(std::move(ref)) {}
  bool wait_for(detail::Timeout timeout) const;
  detail::ObjectRef ref_;
};

}  // namespace lithops::multiprocessing
