// Kept in its own file: the only user of Boost.Stacktrace (and its libbacktrace back end).
#define BOOST_STACKTRACE_LINK
#include <sstream>

#include <boost/stacktrace.hpp>

#include "remote_error.hpp"

namespace lithops::multiprocessing::detail {

std::string current_stacktrace() {
  std::ostringstream out;
  out << boost::stacktrace::stacktrace();
  return out.str();
}

}  // namespace lithops::multiprocessing::detail
