// mp::AsyncResult<T>: the result of an *_async call of a Pool.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>

#include <boost/json/array.hpp>

#include "lithops/multiprocessing/common.hpp"

namespace lithops::multiprocessing {

namespace detail {
class Job;
// Waits until the job completes; false on timeout.
bool job_wait(Job& job, Timeout timeout);
bool job_ready(const Job& job);
// ValueError if not ready.
bool job_successful(const Job& job);
// The per-task results in input order; rethrows the job's error.
const boost::json::array& job_results(const Job& job);
}  // namespace detail

template <class T>
class AsyncResult {
 public:
  using Converter = T (*)(const boost::json::array& results);
  AsyncResult(std::shared_ptr<detail::Job> job, Converter convert)
      : job_(std::move(job)), convert_(convert) {}

  // Waits for the result and returns it; rethrows the remote error (the first failing task's).
  T get() const {
    detail::job_wait(*job_, std::nullopt);
    return convert_(detail::job_results(*job_));
  }
  // As get(), but raises mp::TimeoutError if not ready within `timeout`. Waiting does not cancel.
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) const {
    if (!detail::job_wait(*job_, detail::to_duration(timeout))) throw_timeout();
    return convert_(detail::job_results(*job_));
  }
  void wait() const { detail::job_wait(*job_, std::nullopt); }
  // Returns whether the result is ready (Python's wait returns None; the bool is a convenience).
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) const {
    return detail::job_wait(*job_, detail::to_duration(timeout));
  }
  bool ready() const { return detail::job_ready(*job_); }
  // Whether the call completed without raising; mp::ValueError if not ready yet.
  bool successful() const { return detail::job_successful(*job_); }

 private:
  [[noreturn]] static void throw_timeout();
  std::shared_ptr<detail::Job> job_;
  Converter convert_;
};

namespace detail {
[[noreturn]] void throw_result_timeout();
}
template <class T>
void AsyncResult<T>::throw_timeout() {
  detail::throw_result_timeout();
}

}  // namespace lithops::multiprocessing
