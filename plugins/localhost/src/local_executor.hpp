// The driver half of the localhost executor: every invocation runs in a local worker process,
// the program's own executable re-executed in worker mode. Finished workers stay warm for the
// next invocation until they have been idle for `idle_timeout`.
//
// One monitor thread owns the processes: it forks every worker (so PR_SET_PDEATHSIG ties the
// workers' lives to a thread that lives as long as the executor), watches their event sockets and
// pidfds with epoll, marks workers idle on "done", reports lost invocations, and reaps idle ones.
// invoke() on a warm worker is one sendmsg() from the caller's thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "lithops/sdk/executor.hpp"
#include "lithops/sdk/plugin_context.hpp"
#include "local_config.hpp"
#include "unique_fd.hpp"
#include "worker_launcher.hpp"

namespace lithops::localhost {

class LocalExecutor final : public sdk::Executor {
 public:
  // Throws sdk::ConfigError for a bad `localhost` section, sdk::PluginError if the `prewarm`
  // workers cannot be started.
  explicit LocalExecutor(const sdk::PluginContext& context);
  // Closes every request socket (idle workers exit), SIGTERMs busy workers, SIGKILLs whatever is
  // left after 2 s and reaps everything. Invocations killed here are reported lost.
  ~LocalExecutor() override;

  void set_listener(sdk::ExecutorListener* listener) override;
  // Returns once the frame is written to a warm worker or, for a cold start, to the socket of a
  // freshly forked one. Throws sdk::PluginError for a duplicate id, when max_workers are all busy,
  // or when no process can be started.
  sdk::InvocationInfo invoke(const sdk::Invocation& invocation) override;
  bool cancel(const std::string& invocation_id, int signal) override;
  std::size_t running() const override;
  // Returns once the worker's "done" frame for the invocation was handled (the worker is idle
  // again) or the worker is gone.
  bool wait_released(const std::string& invocation_id, std::chrono::milliseconds timeout) override;

 private:
  enum class State { kIdle, kBusy, kBroken, kRetiring, kDead };
  struct Worker {
    explicit Worker(SpawnedWorker spawned) : process(std::move(spawned)) {}
    SpawnedWorker process;
    // Guarded by mutex_.
    State state = State::kIdle;
    std::string invocation;   // while kBusy
    bool delivering = false;  // invoke() is still writing the frame
    int cancel_signal = 0;
    std::chrono::steady_clock::time_point idle_since;
    WorkerExit exit;  // once kDead
    // Monitor thread only.
    std::string inbox;
    int exec_errno = 0;
    bool events_watched = false;
  };
  using WorkerPtr = std::shared_ptr<Worker>;
  struct SpawnRequest {
    std::string invocation;  // empty for a prewarmed worker
    std::promise<WorkerPtr> result;
  };
  struct Loss {
    std::string invocation;
    int status;
    std::string reason;
  };

  void wake() const;
  // Monitor thread only.
  void monitor_main();
  void wait_and_dispatch(int timeout_ms, std::vector<Loss>& losses);
  void run_spawns();
  WorkerPtr spawn_on_monitor(const std::string& invocation);
  void read_events(const WorkerPtr& worker);
  // Reaps the worker if it has exited (waiting for that if `block`); returns whether it had.
  bool collect_exit(const WorkerPtr& worker, std::vector<Loss>& losses, bool block);
  void retire_idle(std::chrono::steady_clock::time_point now);
  int next_timeout_ms(std::chrono::steady_clock::time_point now) const;
  void shutdown_workers(std::vector<Loss>& losses);
  void report(std::vector<Loss>& losses);

  const LocalConfig config_;
  const WorkerLauncher launcher_;
  UniqueFd epoll_;
  UniqueFd wake_fd_;  // eventfd: tells the monitor there is a spawn request or shutdown
  std::atomic<sdk::ExecutorListener*> listener_{nullptr};

  mutable std::mutex mutex_;
  std::condition_variable released_cv_;  // an invocation ended (its worker is idle, or gone)
  std::unordered_map<pid_t, WorkerPtr> workers_;
  std::unordered_map<std::string, WorkerPtr> invocations_;  // null while its worker is spawning
  std::deque<WorkerPtr> idle_;                              // back = most recently used
  std::vector<std::shared_ptr<SpawnRequest>> spawn_queue_;
  std::vector<Loss> pending_losses_;  // found by invoke(), reported by the monitor
  std::size_t spawning_ = 0;
  std::size_t retiring_ = 0;
  bool stopping_ = false;

  std::size_t without_pidfd_ = 0;  // monitor thread only: workers whose exit must be polled

  std::thread monitor_;
};

}  // namespace lithops::localhost
