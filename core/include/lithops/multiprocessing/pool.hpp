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
#include <ranges>
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

template <class T>
inline constexpr bool is_std_function = false;
template <class S>
inline constexpr bool is_std_function<std::function<S>> = true;

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
class StreamJob;
// The next argument array of a stream; std::nullopt at the end. Called from a feeder thread.
using ArgSource = std::function<std::optional<boost::json::value>()>;
std::shared_ptr<StreamJob> start_stream(const std::shared_ptr<PoolCore>& core,
                                        const std::string& function, ArgSource source,
                                        std::size_t chunksize, bool ordered);
// The next result; std::nullopt at the end. Rethrows a failed task's error in its place;
// mp::TimeoutError if nothing arrives within `timeout`.
std::optional<boost::json::value> stream_next(StreamJob& job, Timeout timeout);
void stream_close(StreamJob& job);

// Arguments drawn lazily from a range. An lvalue range is referenced (it must outlive the
// iteration); an rvalue range is moved in.
template <class Params, class Range>
ArgSource make_source(Range&& r) {
  using Stored =
      std::conditional_t<std::is_lvalue_reference_v<Range>, Range, std::remove_cvref_t<Range>>;
  struct State {
    explicit State(Range&& x)
        : range(std::forward<Range>(x)),
          it(std::ranges::begin(range)),
          end(std::ranges::end(range)) {}
    Stored range;
    decltype(std::ranges::begin(std::declval<Stored&>())) it;
    decltype(std::ranges::end(std::declval<Stored&>())) end;
  };
  auto state = std::make_shared<State>(std::forward<Range>(r));
  return [state]() -> std::optional<boost::json::value> {
    if (state->it == state->end) return std::nullopt;
    boost::json::value v = boost::json::value_from(Params(*state->it));
    ++state->it;
    return v;
  };
}
}  // namespace detail

// The result stream of imap / imap_unordered. Iterate with range-for, or call next().
// Destroying it stops feeding the input; tasks already queued still run.
template <class R>
class IMapIterator {
 public:
  explicit IMapIterator(std::shared_ptr<detail::StreamJob> job) : job_(std::move(job)) {}
  IMapIterator(IMapIterator&&) noexcept = default;
  IMapIterator& operator=(IMapIterator&&) noexcept = default;
  ~IMapIterator() {
    if (job_) detail::stream_close(*job_);
  }

  // The next result (blocks); std::nullopt once all are consumed. Rethrows a task's error.
  std::optional<R> next() { return convert(detail::stream_next(*job_, std::nullopt)); }
  // As next(), but mp::TimeoutError if no result arrives within `timeout`.
  template <class Rep, class Period>
  std::optional<R> next(std::chrono::duration<Rep, Period> timeout) {
    return convert(detail::stream_next(*job_, detail::to_duration(timeout)));
  }

  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    explicit iterator(IMapIterator* owner) : owner_(owner) { ++*this; }
    const R& operator*() const { return *value_; }
    iterator& operator++() {
      value_ = owner_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !value_.has_value(); }

   private:
    IMapIterator* owner_;
    std::optional<R> value_;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  static std::optional<R> convert(std::optional<boost::json::value> v) {
    if (!v) return std::nullopt;
    return detail::convert_result<R>(*v);
  }
  std::shared_ptr<detail::StreamJob> job_;
};

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

  // --- imap / imap_unordered: lazy on both sides ----------------------------------------------
  // Results in input order (imap) or completion order (imap_unordered), as they arrive. The
  // input is read as the stream advances: the driver holds at most 4 x processes chunks of
  // arguments and results at a time, whatever the input's length.
  template <class F, class Range>
  auto imap(F&& fn, Range&& items, std::size_t chunksize = 1) {
    return stream(std::forward<F>(fn), std::forward<Range>(items), chunksize, true);
  }
  template <class F, class Range>
  auto imap_unordered(F&& fn, Range&& items, std::size_t chunksize = 1) {
    return stream(std::forward<F>(fn), std::forward<Range>(items), chunksize, false);
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
  template <class F, class Range>
  auto stream(F&& fn, Range&& items, std::size_t chunksize, bool ordered) {
    auto* ptr = detail::to_function_pointer(fn);
    using Sig = detail::Signature<decltype(ptr)>;
    static_assert(Sig::arity == 1, "imap takes a one-argument function");
    using R = typename Sig::Result;
    return IMapIterator<R>(detail::start_stream(
        core_, detail::name_of(ptr),
        detail::make_source<typename Sig::Params>(std::forward<Range>(items)), chunksize, ordered));
  }

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
      if constexpr (detail::is_std_function<Callback> || std::is_pointer_v<Callback>) {
        present = callback != nullptr;
      }
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
