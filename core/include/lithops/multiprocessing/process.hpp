// mp::Process: one function call run as its own process, on the configured backend.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lithops/multiprocessing/common.hpp"

namespace lithops::multiprocessing {

struct ProcessOptions {
  std::string name;            // default "Process-N"
  std::optional<bool> daemon;  // default: the creating process's flag
};

namespace detail {
struct ProcessState;
}

class Process {
 public:
  // Process(fn, args...): fn must be registered with LITHOPS_FUNCTION. Arguments are converted to
  // fn's parameter types and serialised now; nothing runs before start().
  template <class F, class... A>
  requires(!std::is_same_v<std::decay_t<F>, ProcessOptions>) explicit Process(F&& fn, A&&... args)
      : Process(ProcessOptions{}, std::forward<F>(fn), std::forward<A>(args)...) {}

  template <class F, class... A>
  Process(ProcessOptions options, F&& fn, A&&... args) {
    auto* ptr = detail::to_function_pointer(fn);
    init(std::move(options), detail::name_of(ptr),
         detail::pack_args(ptr, std::forward<A>(args)...));
  }

  Process(Process&&) noexcept;
  Process& operator=(Process&&) noexcept;
  // Destroying a Process object does not stop the process: like Python, non-daemonic processes
  // are joined and daemonic ones terminated when the program ends.
  ~Process();

  // Delivers the call to the backend. Raises ProcessError if already started, ValueError if closed.
  void start();
  // Waits for the end. join(timeout) returns whether it ended within the timeout.
  void join();
  template <class Rep, class Period>
  bool join(std::chrono::duration<Rep, Period> timeout) {
    return join_for(detail::to_duration(timeout));
  }
  bool is_alive();
  // None while running or before start; the exit status, or -N if killed by signal N
  // (terminate() gives -15, kill() -9). A target that throws exits with 1, as in Python.
  std::optional<int> exitcode();
  // Why the backend lost the process, when it ended without reporting its own exit: the
  // function's runtime crashed, the platform refused or dropped the invocation, terminate()
  // (see docs/user-guide.md, "Lost processes"). std::nullopt while running, and for a process
  // whose worker reported its exit (returned, threw, called exit) however it ended. The driver
  // also prints the reason on stderr when it learns of a loss it did not cause.
  std::optional<std::string> exit_reason();
  // Sends SIGTERM / SIGKILL (or the backend's equivalent) to the running process.
  void terminate();
  void kill();
  // Releases the process's resources; ValueError if it is still running. Further use raises.
  void close();

  const std::string& name() const;
  void set_name(std::string name);
  bool daemon() const;
  void set_daemon(bool daemon);  // before start() only
  // The worker's OS pid where the backend has one (localhost), else std::nullopt.
  std::optional<long long> pid() const;
  // The invocation id in the session (stable, unique): ident/sentinel of the port.
  const std::string& ident() const;
  // Python's Process.sentinel: a number (> 0, unique in this process) that
  // mp::connection::wait({..., p.sentinel()}) reports ready once the process has ended.
  // mp::ValueError before start().
  long long sentinel() const;

 private:
  void init(ProcessOptions options, const std::string& function, boost::json::value args);
  bool join_for(detail::Duration timeout);
  std::shared_ptr<detail::ProcessState> state_;
};

// What current_process() / parent_process() describe.
struct ProcessInfo {
  std::string name;
  std::optional<long long> pid;
  bool daemon = false;
  std::string ident;    // the invocation id; empty for the main process
  std::string authkey;  // the session's key (random bytes), inherited by every child

  // Whether that process is still running. A Process is alive until its target returned (or it
  // was killed); the main process is alive as long as the session (a worker cannot outlive it).
  bool is_alive() const;
  // Waits up to `timeout` for that process to end; returns whether it has.
  template <class Rep, class Period>
  bool join(std::chrono::duration<Rep, Period> timeout) const {
    return join_for(detail::to_duration(timeout));
  }

 private:
  bool join_for(detail::Duration timeout) const;
};

// Python's SystemExit: thrown by mp::sys_exit() to end a Process target early, unwinding its
// stack. Deliberately not a std::exception, so `catch (const std::exception&)` lets it through.
class SystemExit {
 public:
  explicit SystemExit(int code) : code_(code) {}
  explicit SystemExit(std::string reason) : code_(1), reason_(std::move(reason)) {}
  int code() const noexcept { return code_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  int code_;
  std::string reason_;
};

// sys.exit() for a Process target: its exit code becomes `code` (sys_exit(true) is 1, false 0).
// sys_exit("reason") writes the reason to stderr and exits with 1. Outside a Process target (the
// driver, a Pool task's caller) it flushes and ends the program with std::exit(code).
[[noreturn]] void sys_exit(int code = 0);
[[noreturn]] void sys_exit(std::string_view reason);

// atexit.register() for the current process: `handler` runs when this process ends normally
// (its target returned, threw, or called sys_exit), last registered first. On a warm-worker
// backend the worker lives on, so std::atexit would run only when the worker itself exits: use
// this. In the driver, handlers run when the program exits.
void atexit_register(std::function<void()> handler);

// threading.Thread(target=fn, daemon=daemon).start(): a thread tied to the current process. The
// process reports its exit only after its non-daemon threads returned. Daemon threads are not
// waited for; a worker that ends a process with daemon threads still running exits (so they stop,
// as they would with the process) instead of staying warm. In the driver, non-daemon threads are
// joined at program exit. An exception escaping `fn` is printed to stderr.
void start_thread(std::function<void()> fn, bool daemon = false);

// The process this code runs in ("MainProcess" in the driver).
ProcessInfo current_process();
// The process that started this one; std::nullopt in the driver.
std::optional<ProcessInfo> parent_process();
// Started, not yet joined children of this process (joins the ones that have ended, as Python).
std::vector<ProcessInfo> active_children();
// Number of CPUs of this machine (>= 1).
int cpu_count();

}  // namespace lithops::multiprocessing
