// Exceptions that cross from a worker to the driver as their own type.
//
// A worker reports a failing function's exception as (type name, message, traceback). The driver
// rethrows standard exception types and mp:: errors as themselves, user types registered with
// LITHOPS_EXCEPTION(T) as themselves (T must be constructible from std::string), and anything
// else as mp::RemoteError.
#pragma once

#include <exception>
#include <string>
#include <typeinfo>

namespace lithops::multiprocessing::detail {

using ExceptionFactory = std::exception_ptr (*)(const std::string& message);

void register_exception(const std::type_info& type, ExceptionFactory factory);

template <class T>
struct ExceptionRegistrar {
  ExceptionRegistrar() {
    register_exception(
        typeid(T), [](const std::string& message) { return std::make_exception_ptr(T(message)); });
  }
};

}  // namespace lithops::multiprocessing::detail

#define LITHOPS_EXCEPTION(T)                                                              \
  [[maybe_unused]] static const ::lithops::multiprocessing::detail::ExceptionRegistrar<T> \
  LITHOPS_DETAIL_CONCAT_(lithops_exception_registrar_, __COUNTER__) {}
