#include "remote_error.hpp"

#include <cxxabi.h>

#include <map>
#include <mutex>
#include <new>
#include <stdexcept>

#include <boost/core/demangle.hpp>
#include <boost/json.hpp>

#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/remote_errors.hpp"

namespace lithops::multiprocessing::detail {
namespace json = boost::json;

namespace {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, ExceptionFactory>& registry() {
  static auto* r = [] {
    auto* m = new std::map<std::string, ExceptionFactory>();
    auto add = [m]<class T>(T*) {
      (*m)[boost::core::demangle(typeid(T).name())] = [](const std::string& msg) {
        return nest_current<T>(msg);
      };
    };
    add(static_cast<std::runtime_error*>(nullptr));
    add(static_cast<std::logic_error*>(nullptr));
    add(static_cast<std::invalid_argument*>(nullptr));
    add(static_cast<std::domain_error*>(nullptr));
    add(static_cast<std::length_error*>(nullptr));
    add(static_cast<std::out_of_range*>(nullptr));
    add(static_cast<std::range_error*>(nullptr));
    add(static_cast<std::overflow_error*>(nullptr));
    add(static_cast<std::underflow_error*>(nullptr));
    add(static_cast<Error*>(nullptr));
    add(static_cast<TimeoutError*>(nullptr));
    add(static_cast<ValueError*>(nullptr));
    add(static_cast<TypeError*>(nullptr));
    add(static_cast<ProcessError*>(nullptr));
    add(static_cast<BrokenBarrierError*>(nullptr));
    add(static_cast<AuthenticationError*>(nullptr));
    add(static_cast<Empty*>(nullptr));
    add(static_cast<Full*>(nullptr));
    add(static_cast<EOFError*>(nullptr));
    add(static_cast<OSError*>(nullptr));
    add(static_cast<ConfigError*>(nullptr));
    add(static_cast<RemoteTraceback*>(nullptr));
    add(static_cast<MaybeEncodingError*>(nullptr));
    return m;
  }();
  return *r;
}

}  // namespace

void register_exception(const std::type_info& type, ExceptionFactory factory) {
  std::lock_guard lock(registry_mutex());
  registry()[boost::core::demangle(type.name())] = factory;
}

ErrorInfo capture_current_exception() {
  ErrorInfo info;
  const std::type_info* type = abi::__cxa_current_exception_type();
  info.type = type ? boost::core::demangle(type->name()) : "unknown";
  try {
    throw;
  } catch (const RemoteError& e) {
    // A nested remote failure keeps its original identity.
    info.type = e.type();
    info.message = e.message();
    info.traceback = e.traceback();
    return info;
  } catch (const std::bad_alloc& e) {
    info.message = e.what();
  } catch (const std::exception& e) {
    info.message = e.what();
  } catch (...) {
    info.message = "a non-std::exception of type " + info.type + " was thrown";
  }
  bool at_throw_site = false;
  info.traceback = current_exception_stacktrace(&at_throw_site);
  info.traceback.insert(
      0, at_throw_site ? "C++ stack where it was thrown:\n" : "C++ stack where it was caught:\n");
  return info;
}

json::object to_json(const ErrorInfo& error) {
  return {{"type", error.type},
          {"message", error.message},
          {"traceback", error.traceback},
          {"task", error.task}};
}

ErrorInfo error_from_json(const json::object& o) {
  ErrorInfo e;
  if (auto* v = o.if_contains("type"); v && v->is_string()) e.type = v->as_string();
  if (auto* v = o.if_contains("message"); v && v->is_string()) e.message = v->as_string();
  if (auto* v = o.if_contains("traceback"); v && v->is_string()) e.traceback = v->as_string();
  if (auto* v = o.if_contains("task"); v && v->is_int64()) e.task = v->as_int64();
  return e;
}

std::exception_ptr make_exception(const ErrorInfo& error) {
  ExceptionFactory factory = nullptr;
  {
    std::lock_guard lock(registry_mutex());
    auto it = registry().find(error.type);
    if (it != registry().end()) factory = it->second;
  }
  if (factory) {
    if (error.traceback.empty()) return factory(error.message);
    // As Python's RemoteTraceback is the __cause__ of the re-raised error: the factory nests the
    // exception being handled (std::throw_with_nested), so the traceback travels with the type.
    try {
      throw RemoteTraceback(error.traceback);
    } catch (const RemoteTraceback&) {
      return factory(error.message);
    }
  }
  return std::make_exception_ptr(
      RemoteError(error.type, error.message, error.traceback, error.task));
}

}  // namespace lithops::multiprocessing::detail
