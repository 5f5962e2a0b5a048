// mp::Barrier: `parties` processes (or threads) wait for each other, round after round.
//
// A handle (copy, pass to tasks, send through a Queue). Arriving is one Lua script; the party that
// completes a round releases the others by pushing one token per waiter to the round's release
// list, where they block in BLPOP. Tokens carry the round number, so a stale token is never
// mistaken for a newer round's.
//
// The action is a registered function (LITHOPS_FUNCTION, taking no arguments): the party that
// completes a round runs it, exactly once per round, before any party is released, in whichever
// process that party runs (Python's multiprocessing likewise calls the action in the last party).
// If it throws, the barrier breaks and that party's wait() rethrows the exception.
#pragma once

#include <chrono>
#include <optional>

#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>

#include "lithops/multiprocessing/common.hpp"
#include "lithops/multiprocessing/shared_object.hpp"

namespace lithops::multiprocessing {

class Barrier {
 public:
  // parties < 1 raises mp::ValueError. `timeout` is the default for wait() (none: forever).
  explicit Barrier(int parties, Function action = {}) : Barrier(parties, action, std::nullopt) {}
  template <class Rep, class Period>
  Barrier(int parties, Function action, std::chrono::duration<Rep, Period> timeout)
      : Barrier(parties, std::move(action), detail::Timeout(detail::to_duration(timeout))) {}
  template <class Rep, class Period>
  Barrier(int parties, std::chrono::duration<Rep, Period> timeout)
      : Barrier(parties, Function{}, detail::Timeout(detail::to_duration(timeout))) {}

  // Blocks until `parties` parties wait (or the default timeout passes) and returns this party's
  // arrival index in the round, 0..parties-1, unique per round. Raises mp::BrokenBarrierError if
  // the barrier is or becomes broken while waiting: abort(), reset(), another party's timeout, or
  // this party's own timeout (which breaks it for everyone, as in Python).
  int wait() { return wait_impl(default_timeout()); }
  template <class Rep, class Period>
  int wait(std::chrono::duration<Rep, Period> timeout) {
    return wait_impl(detail::to_duration(timeout));
  }
  // Breaks the barrier: current and future waiters get BrokenBarrierError until reset().
  void abort();
  // Back to the empty, unbroken state; parties waiting now get BrokenBarrierError.
  void reset();

  int parties() const;
  // Parties waiting in the current round (one round trip; 0 when broken).
  int n_waiting() const;
  bool broken() const;

  const detail::ObjectRef& ref() const { return ref_; }
  explicit Barrier(detail::ObjectRef ref) : ref_(std::move(ref)) {}

 private:
  Barrier(int parties, Function action, detail::Timeout timeout);
  detail::Timeout default_timeout() const;
  int wait_impl(detail::Timeout timeout);
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Barrier& b) {
    jv = b.ref_.to_json();
  }
  friend Barrier tag_invoke(boost::json::value_to_tag<Barrier>, const boost::json::value& jv) {
    return Barrier(detail::ObjectRef::attach(jv, "barrier"));
  }
  detail::ObjectRef ref_;
};

}  // namespace lithops::multiprocessing
