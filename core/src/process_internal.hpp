// Internals shared by process.cpp, pool.cpp and worker.cpp.
#pragma once

#include <optional>
#include <string>

#include <boost/json/object.hpp>

#include "lithops/multiprocessing/process.hpp"

namespace lithops::multiprocessing::detail {

// At exit: terminate every Pool still alive (pool.cpp), before the runtime stops.
void terminate_live_pools();

// At exit: join non-daemonic children, terminate daemonic ones (as Python's atexit handler).
void finalize_children();

// Identity of this process (set by the worker for each invocation).
void set_current_process(ProcessInfo self, std::optional<ProcessInfo> parent);
boost::json::object to_json(const ProcessInfo& info);
ProcessInfo process_info_from_json(const boost::json::object& o);

class Runtime;

// Marks the calling thread as running a Process target (mp::sys_exit throws SystemExit there).
struct ScopedTarget {
  ScopedTarget();
  ~ScopedTarget();
  ScopedTarget(const ScopedTarget&) = delete;
  ScopedTarget& operator=(const ScopedTarget&) = delete;
};
// The end of a process, as Python's bootstrap: joins its non-daemon threads (mp::start_thread),
// then runs its mp::atexit_register handlers. Returns whether daemon threads still run.
bool run_end_of_process();
// A list that gets an element when process `ident` ends (never consumed: see ProcessInfo::join).
std::string ended_key(Runtime& rt, const std::string& ident);
// A fresh session key (hex text of 32 random bytes).
std::string new_authkey();

// Text for an exit status: "exit code 3", "signal 9 (SIGKILL)".
std::string describe_status(int status);

}  // namespace lithops::multiprocessing::detail
