// Starting a worker process: the program's own executable re-executed with the same argv and the
// worker-mode environment, its request/event sockets at the fixed descriptors of protocol.hpp.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "lithops/sdk/worker_launch.hpp"
#include "unique_fd.hpp"

namespace lithops::localhost {

struct SpawnedWorker {
  pid_t pid = -1;
  UniqueFd requests;  // driver end, write invocations here
  UniqueFd events;    // driver end, read done frames here
  UniqueFd pidfd;     // readable once the worker exits; invalid if the kernel lacks pidfd_open
};

class WorkerLauncher {
 public:
  // Reads /proc/self/cmdline now: the worker gets the argv the program was started with.
  // `worker_env`: sdk::worker_environment() of the executor's context; `extra_env`: the
  // user's localhost.worker_env.
  WorkerLauncher(sdk::Environment worker_env, sdk::Environment extra_env);

  // Forks and execs one worker. The worker is killed (SIGKILL) when the *calling thread* exits,
  // which is how workers die with their driver: call this only from one long-lived thread.
  // Throws sdk::PluginError if the sockets or the process cannot be created.
  SpawnedWorker spawn() const;

 private:
  std::vector<std::string> argv_;
  sdk::Environment overrides_;
  UniqueFd devnull_;
};

// Process.exitcode-style status (exit code, or -signal) and a sentence for a waitpid() status.
struct WorkerExit {
  int status = 0;
  std::string reason;
};
WorkerExit describe_exit(pid_t pid, int wait_status);

}  // namespace lithops::localhost
