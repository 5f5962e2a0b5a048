// Executor: delivers invocations to workers somewhere (local processes, AWS Lambda, ...).
//
// An executor only *delivers*. Workers report results, exit codes, errors and output through the
// StateStore, so results flow the same way on every backend. The executor's one duty beyond
// delivery is to report an invocation that was lost (worker died, invocation failed) so that
// nobody waits forever for its result.
//
// An executor plugin has two halves that live in the same shared library:
//  - Executor, in the driver: invoke/cancel.
//  - WorkerRuntime, in the worker: receives the payloads the Executor sent and hands them to the
//    core. The core starts it from mp::init() when it detects worker mode for this backend:
//    start workers with worker_launch.hpp (worker_environment / spawn_self_as_worker).
//
// The contract (docs/plugin-sdk.md, "The executor contract"):
//  - Loss reports. A worker reports every invocation it finishes through the store, also when
//    the function throws or calls sys_exit (those come back through the handler, which returns
//    normally). Report an invocation lost through ExecutorListener::on_invocation_lost whenever
//    the backend knows it ended without its handler returning: the worker process exited or was
//    killed while running it (std::exit, _exit, abort, a signal, exit status 70 from the core
//    when it cannot report), cancel() stopped it, the backend refused or timed it out after
//    accepting it. When unsure, report: a report for an invocation whose exit was already
//    reported through the store, or a second report of the same invocation, is ignored. Not
//    reporting makes join() time out and Pool.map wait forever for that task.
//  - Threads. invoke(), cancel(), running(), max_payload_bytes() and wait_released() may be
//    called from any thread, several at once (one Process starting while another is cancelled);
//    set_listener() is called once, before any of them. The destructor is called once, from a
//    thread that is not in any other call, when the session ends (mp::shutdown or exit): it stops
//    every worker it started and must not call the listener afterwards.
//  - invoke() may block while the backend accepts the invocation (an HTTP call, starting a
//    process) but not until the invocation finishes; it must not wait for another invocation to
//    finish (the core runs them all concurrently). on_invocation_lost may be called from inside
//    invoke() (the backend refused it at once) or from any executor thread; it must not be called
//    with the executor's own locks held if those locks are taken in invoke()/cancel().
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>

namespace lithops::sdk {

struct Invocation {
  std::string id;       // unique within the session; used by cancel() and ExecutorListener
  std::string payload;  // opaque to the executor: hand it unchanged to the worker's handler
};

// Where an invocation went, as far as the backend knows at delivery time.
struct InvocationInfo {
  std::string worker_id;         // backend-specific (a pid, a request id); may be empty
  std::optional<long long> pid;  // an OS process id where the backend has one
  bool cold_start = false;       // a new worker had to be started for it
};

// Told about invocations that will never report through the store by themselves.
class ExecutorListener {
 public:
  virtual ~ExecutorListener() = default;
  // `status` follows Process.exitcode: the exit status, or -N when killed by signal N.
  // Called from an executor thread; must not block.
  virtual void on_invocation_lost(const std::string& invocation_id, int status,
                                  const std::string& reason) = 0;
  // The backend says the invocation is over and gave no sign of a failure (AWS Lambda: a
  // RequestResponse answer of 200 without X-Amz-Function-Error). Its worker reports its exit
  // through the store just before that; if no report comes within the core's grace period
  // (lithops.lost_grace_period), the core treats the invocation as lost. Call it only for
  // invocations that did not end through on_invocation_lost. Called from an executor thread;
  // must not block. (ABI version 4.)
  virtual void on_invocation_ended(const std::string& invocation_id) { (void)invocation_id; }
};

class Executor {
 public:
  virtual ~Executor() = default;
  Executor() = default;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Set once, before the first invoke(). The listener outlives the executor.
  virtual void set_listener(ExecutorListener* listener) = 0;

  // Delivers one invocation and returns when the backend accepted it (not when it finished).
  // Every invocation runs concurrently with every other one that has been delivered: the core
  // bounds concurrency itself where Python's semantics want it (Pool).
  // Throws PluginError if the backend refused it.
  virtual InvocationInfo invoke(const Invocation& invocation) = 0;

  // Stops a running invocation. `signal` is SIGTERM or SIGKILL; a backend without processes does
  // its best and reports the invocation lost with status -signal. Returns false if
  // unknown/finished.
  virtual bool cancel(const std::string& invocation_id, int signal) = 0;

  // Invocations delivered and not finished yet (for diagnostics and tests).
  virtual std::size_t running() const = 0;

  // Largest payload invoke() accepts (bytes), 0 for no limit. The core stores a larger payload in
  // the StateStore and sends a small reference instead, which the worker side resolves.
  virtual std::size_t max_payload_bytes() const { return 0; }

  // Waits, at most `timeout`, until the worker that ran `invocation_id` is free for another
  // invocation (localhost: back in the warm set). The core calls it after it has received the
  // invocation's exit report, which a worker sends just before it tells the backend it is done,
  // so that an invoke() right after join() reuses that worker. Returns false on timeout; true at
  // once for an unknown or finished invocation, and on backends without warm reuse (the default).
  virtual bool wait_released(const std::string& invocation_id, std::chrono::milliseconds timeout) {
    (void)invocation_id;
    (void)timeout;
    return true;
  }
};

// The worker half. serve() runs the backend's receive loop and calls `handle` for each payload,
// one at a time, in the calling thread. It returns (with a process exit status) when the backend
// says the worker should stop: driver gone, idle timeout, runtime shutdown; mp::init() then ends
// the process with that status (0: a normal stop; anything else is printed as a worker failure by
// nobody but the executor that watches the process).
//
// `handle` does not throw: a function that throws or calls sys_exit is reported through the store
// and `handle` returns normally. If the core cannot run or report a payload it ends the process
// with _exit(70) inside `handle` (the executor sees that exit and reports the invocation lost).
// The function may also end the process itself (std::exit, abort, a signal): `handle` then never
// returns. An exception escaping serve() is printed by mp::init(), which exits with status 70.
class WorkerRuntime {
 public:
  virtual ~WorkerRuntime() = default;
  using Handler = std::function<void(const std::string& payload)>;
  virtual int serve(const Handler& handle) = 0;
};

}  // namespace lithops::sdk
