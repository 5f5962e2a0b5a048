// Internals shared by process.cpp, pool.cpp and worker.cpp.
#pragma once

#include <optional>
#include <string>

#include <boost/json/object.hpp>

#include "lithops/multiprocessing/process.hpp"

namespace lithops::multiprocessing::detail {

// At exit: join non-daemonic children, terminate daemonic ones (as Python's atexit handler).
void finalize_children();

// Identity of this process (set by the worker for each invocation).
void set_current_process(ProcessInfo self, std::optional<ProcessInfo> parent);
boost::json::object to_json(const ProcessInfo& info);
ProcessInfo process_info_from_json(const boost::json::object& o);

// Text for an exit status: "exit code 3", "signal 9 (SIGKILL)".
std::string describe_status(int status);

}  // namespace lithops::multiprocessing::detail
