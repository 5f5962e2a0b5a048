// Small shared pieces of the public API: timeouts, argument packing, function references.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>

#include "lithops/multiprocessing/registry.hpp"

namespace lithops::multiprocessing {

namespace detail {
// Every blocking call funnels into one duration type; std::nullopt waits forever.
using Duration = std::chrono::steady_clock::duration;
using Timeout = std::optional<Duration>;

template <class Rep, class Period>
Duration to_duration(std::chrono::duration<Rep, Period> d) {
  if (d < std::chrono::duration<Rep, Period>::zero()) return Duration::zero();
  return std::chrono::duration_cast<Duration>(d);
}

template <class F>
using FunctionPointer = decltype(to_function_pointer(std::declval<F>()));

template <class Fn>
struct Signature;
template <class R, class... P>
struct Signature<R (*)(P...)> {
  using Result = R;
  using Params = std::tuple<std::decay_t<P>...>;
  static constexpr std::size_t arity = sizeof...(P);
};

// The JSON argument array for calling `fn` with `args`, converted to the parameter types first.
template <class R, class... P, class... A>
boost::json::value pack_args(R (*)(P...), A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "wrong number of arguments for the target function");
  if constexpr (sizeof...(P) == 0) {
    return boost::json::array();
  } else {
    return boost::json::value_from(std::tuple<std::decay_t<P>...>(std::forward<A>(args)...));
  }
}

template <class F>
const std::string& name_of(F&& fn) {
  auto* ptr = to_function_pointer(fn);
  return function_name(erase(ptr), typeid(ptr).name());
}
}  // namespace detail

// A reference to a registered function, e.g. PoolOptions::initializer.
struct Function {
  Function() = default;
  template <class F>
  requires(!std::is_same_v<std::decay_t<F>, Function>)
      Function(F&& fn)  // NOLINT(google-explicit-constructor): reads like Python's `initializer=f`
      : name(detail::name_of(std::forward<F>(fn))) {}
  std::string name;  // empty: none
};

// Arguments bundled for the async forms that also take callbacks:
//   pool.apply_async(f, mp::args(1, 2), on_result, on_error);
template <class... A>
struct ArgPack {
  std::tuple<A...> values;
};
template <class... A>
ArgPack<std::decay_t<A>...> args(A&&... a) {
  return {std::tuple<std::decay_t<A>...>(std::forward<A>(a)...)};
}

namespace detail {
template <class T>
inline constexpr bool is_arg_pack = false;
template <class... A>
inline constexpr bool is_arg_pack<ArgPack<A...>> = true;
}  // namespace detail

}  // namespace lithops::multiprocessing
