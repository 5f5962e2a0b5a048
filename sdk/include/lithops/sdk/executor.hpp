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
//    core. The core starts it from mp::init() when it detects worker mode for this backend.
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
// says the worker should stop: driver gone, idle timeout, runtime shutdown.
class WorkerRuntime {
 public:
  virtual ~WorkerRuntime() = default;
  using Handler = std::function<void(const std::string& payload)>;
  virtual int serve(const Handler& handle) = 0;
};

}  // namespace lithops::sdk
