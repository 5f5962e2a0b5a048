// Exceptions crossing the worker/driver boundary: captured as (type, message, traceback) in the
// worker and turned back into a typed exception in the driver.
#pragma once

#include <exception>
#include <string>

#include <boost/json/object.hpp>

namespace lithops::multiprocessing::detail {

struct ErrorInfo {
  std::string type;       // demangled C++ type name, e.g. "std::out_of_range"
  std::string message;    // what()
  std::string traceback;  // text, may be empty
  long long task = -1;    // index of the task in a Pool call
};

// Call inside a catch block: describes the exception being handled.
ErrorInfo capture_current_exception();

boost::json::object to_json(const ErrorInfo& error);
ErrorInfo error_from_json(const boost::json::object& o);

// The exception to rethrow in the driver: the same type when known, else mp::RemoteError.
std::exception_ptr make_exception(const ErrorInfo& error);

// The stack of the calling thread as text (Boost.Stacktrace).
std::string current_stacktrace();
// Call inside a catch block: the stack where the exception being handled was thrown, when this
// thread recorded it (worker processes, see stacktrace.cpp), else the current stack. Sets
// *at_throw_site to which one it is.
std::string current_exception_stacktrace(bool* at_throw_site = nullptr);
// Turns on throw-site recording for this process (workers only: mp::init()).
void enable_throw_site_capture();
// Whether this library's __cxa_throw has run at least once in this process (it is interposed).
bool throw_site_capture_active();

}  // namespace lithops::multiprocessing::detail
