// Exceptions that cross from a worker to the driver as their own type.
//
// A worker reports a failing function's exception as (type name, message, traceback). The driver
// rethrows standard exception types and mp:: errors as themselves, user types registered with
// LITHOPS_EXCEPTION(T) as themselves (T must be constructible from std::string), and anything
// else as mp::RemoteError. A rethrown T carries the worker's stack trace as its nested exception
// (an mp::RemoteTraceback; see mp::remote_traceback()).
#pragma once

#include <exception>
#include <string>
#include <typeinfo>

namespace lithops::multiprocessing::detail {

using ExceptionFactory = std::exception_ptr (*)(const std::string& message);

void register_exception(const std::type_info& type, ExceptionFactory factory);

// T(message); called while an exception is handled, T(message) with that one nested in it
// (std::throw_with_nested): how a worker's traceback (mp::RemoteTraceback) rides along.
template <class T>
std::exception_ptr nest_current(const std::string& message) {
  if (!std::current_exception()) return std::make_exception_ptr(T(message));
  try {
    std::throw_with_nested(T(message));
  } catch (...) {
    return std::current_exception();
  }
}

template <class T>
struct ExceptionRegistrar {
  ExceptionRegistrar() {
    register_exception(typeid(T),
                       [](const std::string& message) { return nest_current<T>(message); });
  }
};

}  // namespace lithops::multiprocessing::detail

#define LITHOPS_EXCEPTION(T)                                                              \
  [[maybe_unused]] static const ::lithops::multiprocessing::detail::ExceptionRegistrar<T> \
  LITHOPS_DETAIL_CONCAT_(lithops_exception_registrar_, __COUNTER__) {}
