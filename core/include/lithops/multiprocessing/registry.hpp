// Remote functions by name.
//
// A function a Process or Pool runs in a worker is found there by name, so it must be registered at
// static-initialisation time, in the driver and the worker alike (they are the same executable):
//
//   int square(int x) { return x * x; }
//   LITHOPS_FUNCTION(square);
//   LITHOPS_FUNCTION_NAMED("cube", [](int x) { return x * x * x; });
//
// Arguments and results travel as JSON (Boost.JSON value_from / value_to): arithmetic types,
// strings, standard containers, tuples, BOOST_DESCRIBE_STRUCT structs and any type with tag_invoke
// overloads work.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

namespace lithops::multiprocessing::detail {

// Any function pointer, type-erased (function pointers convert to each other losslessly).
using AnyFunction = void (*)();

// Runs a registered function: JSON array of arguments in, JSON result out (null for void).
using Invoker = boost::json::value (*)(AnyFunction fn, const boost::json::value& args);

// Registers `name`. Registering one name twice with different functions aborts at start-up with a
// message, because a worker could otherwise run the wrong one.
void register_function(const char* name, AnyFunction fn, Invoker invoker);

// Name of a registered function; throws mp::ValueError telling how to register it otherwise.
const std::string& function_name(AnyFunction fn, const char* signature);

struct RegisteredFunction {
  AnyFunction fn;
  Invoker invoker;
};
// A registered name; throws mp::ValueError if this executable does not know it.
RegisteredFunction find_function(const std::string& name);

// Throws mp::MaybeEncodingError: a function's result of type `type` could not be serialised.
[[noreturn]] void throw_encoding_error(const std::type_info& type, const std::exception& error);

template <class R, class... P>
boost::json::value invoke_erased(AnyFunction fn, const boost::json::value& args) {
  auto typed = reinterpret_cast<R (*)(P...)>(fn);
  auto call = [&] {
    if constexpr (sizeof...(P) == 0) {
      if (!args.is_array() || !args.get_array().empty()) {
        throw std::invalid_argument("this function takes no arguments");
      }
      return typed();
    } else {
      return std::apply(typed, boost::json::value_to<std::tuple<std::decay_t<P>...>>(args));
    }
  };
  if constexpr (std::is_void_v<R>) {
    call();
    return nullptr;
  } else {
    auto result = call();
    try {
      return boost::json::value_from(std::move(result));
    } catch (const std::exception& e) {
      throw_encoding_error(typeid(R), e);
    }
  }
}

template <class R, class... P>
AnyFunction erase(R (*fn)(P...)) {
  return reinterpret_cast<AnyFunction>(fn);
}

// A function, or a captureless lambda, as a plain function pointer.
template <class F>
auto to_function_pointer(F&& f) {
  if constexpr (std::is_pointer_v<std::decay_t<F>>) {
    return f;
  } else {
    return +f;  // a captureless lambda converts; a capturing one does not compile, by design
  }
}

struct Registrar {
  template <class F>
  Registrar(const char* name, F&& f) {
    auto* fn = to_function_pointer(f);
    register_function(name, erase(fn), invoker_for(fn));
  }

 private:
  template <class R, class... P>
  static Invoker invoker_for(R (*)(P...)) {
    return &invoke_erased<R, P...>;
  }
};

}  // namespace lithops::multiprocessing::detail

#define LITHOPS_DETAIL_CONCAT2_(a, b) a##b
#define LITHOPS_DETAIL_CONCAT_(a, b) LITHOPS_DETAIL_CONCAT2_(a, b)

// Registers a free function under its own name (as written, e.g. "square" or "ns::square").
#define LITHOPS_FUNCTION(fn) LITHOPS_FUNCTION_NAMED(#fn, fn)

// Registers a free function or a captureless lambda under an explicit name.
#define LITHOPS_FUNCTION_NAMED(name, fn)                                      \
  [[maybe_unused]] static const ::lithops::multiprocessing::detail::Registrar \
  LITHOPS_DETAIL_CONCAT_(lithops_function_registrar_, __COUNTER__) {          \
    name, fn                                                                  \
  }
