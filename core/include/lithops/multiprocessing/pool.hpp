// mp::Pool: a bounded set of worker invocations that run tasks, as multiprocessing.Pool.
//
// A Pool starts `processes` workers on the configured backend; each runs the initializer once and
// then takes task chunks from a Redis list until the pool closes (or after maxtasksperchild tasks,
// when the pool replaces it). Results come back through Redis to one collector thread per pool,
// which also runs callbacks: never two at once for one pool.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/value_to.hpp>

#include "lithops/multiprocessing/async_result.hpp"
#include "lithops/multiprocessing/common.hpp"
#include "lithops/multiprocessing/errors.hpp"

namespace lithops::multiprocessing {

struct PoolOptions {
  std::optional<int> processes;         // default: config `lithops.workers`, else cpu_count()
  Function initializer;                 // run once in each worker before its first task
  boost::json::array initargs;          // arguments of the initializer
  std::optional<int> maxtasksperchild;  // replace a worker after this many tasks
};

using ErrorCallback = std::function<void(std::exception_ptr)>;

namespace detail {
class PoolCore;

[[noreturn]] void throw_type_mismatch(const char* type, const char* what);

// Converts a JSON result to T, reporting a mismatch as mp::TypeError.
template <class T>
T convert_result(const boost::json::value& v) {
  try {
    return boost::json::value_to<T>(v);
  } catch (const std::exception& e) {
    throw_type_mismatch(typeid(T).name(), e.what());
  }
}

template <class R>
std::vector<R> convert_all(const boost::json::array& results) {
  std::vector<R> out;
  out.reserve(results.size());
  for (const auto& v : results) out.push_back(convert_result<R>(v));
  return out;
}
template <class R>
R convert_one(const boost::json::array& results) {
  if constexpr (std::is_void_v<R>) {
    return;
  } else {
    return convert_result<R>(results.at(0));
  }
}
}  // namespace detail

class Pool {
 public:
  Pool();
  explicit Pool(int processes);
  explicit Pool(PoolOptions options);
  Pool(Pool&&) noexcept;
  Pool& operator=(Pool&&) noexcept;
  // Like leaving `with Pool() as p:`: terminate().
  ~Pool();

  // --- map family: fn(item) for every item, results in input order ------------------------------
  template <class F, class Range>
  auto map(F&& fn, const Range& items, std::size_t chunksize = 0) {
    return map_async(std::forward<F>(fn), items, chunksize).get();
  }
  template <class F, class Range, class Callback = std::nullptr_t>
  auto map_async(F&& fn, const Range& items, std::size_t chunksize = 0, Callback callback = nullptr,
                 ErrorCallback error_callback = nullptr) {
    auto* ptr = detail::to_function_pointer(fn);
    using Sig = detail::Signature<decltype(ptr)>;
    static_assert(Sig::arity == 1, "map takes a one-argument function; use starmap for more");
    using R = typename Sig::Result;
    static_assert(!std::is_void_v<R>, "map needs a function that returns a value");
    boost::json::array tasks;
    for (const auto& item : items)
      tasks.push_back(boost::json::value_from(typename Sig::Params(item)));
    return submit<std::vector<R>>(detail::name_of(ptr), std::move(tasks), chunksize,
                                  &detail::convert_all<R>, std::move(callback),
                                  std::move(error_callback));
  }

  // --- starmap: fn(a, b, ...) for every tuple (a, b, ...)
  // -----------------------------------------
  template <class F, class Range>
  auto starmap(F&& fn, const Range& items, std::size_t chunksize = 0) {
    return starmap_async(std::forward<F>(fn), items, chunksize).get();
  }
  template <class F, class Range, class Callback = std::nullptr_t>
  auto starmap_async(F&& fn, const Range& items, std::size_t chunksize = 0,
                     Callback callback = nullptr, ErrorCallback error_callback = nullptr) {
    auto* ptr = detail::to_function_pointer(fn);
    using Sig = detail::Signature<decltype(ptr)>;
    using R = typename Sig::Result;
    static_assert(!std::is_void_v<R>, "starmap needs a function that returns a value");
    boost::json::array tasks;
    for (const auto& item : items) {
      tasks.push_back(boost::json::value_from(
          std::apply([](const auto&... a) { return typename Sig::Params(a...); }, item)));
    }
    return submit<std::vector<R>>(detail::name_of(ptr), std::move(tasks), chunksize,
                                  &detail::convert_all<R>, std::move(callback),
                                  std::move(error_callback));
  }

  // --- apply: one call --------------------------------------------------------------------------
  template <class F, class... A>
  auto apply(F&& fn, A&&... args) {
    return apply_async(std::forward<F>(fn), std::forward<A>(args)...).get();
  }
  template <class F, class... A>
  requires(!(detail::is_arg_pack<std::decay_t<A>> || ...)) auto apply_async(F&& fn, A&&... args) {
    return submit_apply(std::forward<F>(fn), mp_args(std::forward<A>(args)...), nullptr, nullptr);
  }
  // apply_async(fn, mp::args(...), callback, error_callback): callback(result) runs on the pool's
  // collector thread when the call succeeds, error_callback(exception) when it fails.
  template <class F, class... A, class Callback>
  auto apply_async(F&& fn, ArgPack<A...> pack, Callback callback,
                   ErrorCallback error_callback = nullptr) {
    return submit_apply(std::forward<F>(fn), std::move(pack), std::move(callback),
                        std::move(error_callback));
  }

  // No more tasks; workers exit when the queued ones are done.
  void close();
  // Waits for the workers to exit (after close() or terminate()); ValueError if still running.
  void join();
  // Stops the workers now; pending results fail with mp::ProcessError.
  void terminate();

  int processes() const;

 private:
  template <class F, class... A, class Callback>
  auto submit_apply(F&& fn, ArgPack<A...> pack, Callback callback, ErrorCallback error_callback) {
    auto* ptr = detail::to_function_pointer(fn);
    using R = typename detail::Signature<decltype(ptr)>::Result;
    boost::json::array tasks;
    tasks.push_back(std::apply([&](auto&&... a) { return detail::pack_args(ptr, std::move(a)...); },
                               std::move(pack.values)));
    return submit<R>(detail::name_of(ptr), std::move(tasks), 1, &detail::convert_one<R>,
                     std::move(callback), std::move(error_callback));
  }

  template <class... A>
  static ArgPack<std::decay_t<A>...> mp_args(A&&... a) {
    return {std::tuple<std::decay_t<A>...>(std::forward<A>(a)...)};
  }

  template <class T, class Callback>
  AsyncResult<T> submit(const std::string& function, boost::json::array tasks,
                        std::size_t chunksize, typename AsyncResult<T>::Converter convert,
                        Callback callback, ErrorCallback error_callback) {
    std::function<void(const boost::json::array&)> on_success;
    if constexpr (!std::is_same_v<Callback, std::nullptr_t>) {
      // A lambda, or a std::function that may be empty.
      bool present = true;
      if constexpr (std::is_constructible_v<bool, const Callback&>)
        present = static_cast<bool>(callback);
      if (present) {
        on_success = [convert, cb = std::move(callback)](const boost::json::array& results) {
          if constexpr (std::is_void_v<T>) {
            cb();
          } else {
            cb(convert(results));
          }
        };
      }
    }
    return AsyncResult<T>(submit_job(function, std::move(tasks), chunksize, std::move(on_success),
                                     std::move(error_callback)),
                          convert);
  }
  std::shared_ptr<detail::Job> submit_job(const std::string& function, boost::json::array tasks,
                                          std::size_t chunksize,
                                          std::function<void(const boost::json::array&)> on_success,
                                          ErrorCallback on_error);

  std::shared_ptr<detail::PoolCore> core_;
};

}  // namespace lithops::multiprocessing
