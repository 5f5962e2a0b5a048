// A minimal executor plugin: every invocation runs in a new child process, the program itself
// started again as a worker by lithops::sdk::spawn_self_as_worker. The payload travels in an
// environment variable of ours, so this executor declares a payload limit: the core puts larger
// payloads in the state store and sends a reference instead.
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <lithops/sdk/plugin.hpp>
#include <lithops/sdk/worker_launch.hpp>

namespace sdk = lithops::sdk;

namespace {

constexpr const char* kPayloadEnv = "EXAMPLE_SUBPROCESS_PAYLOAD";

class SubprocessExecutor : public sdk::Executor {
 public:
  explicit SubprocessExecutor(const sdk::PluginContext& ctx) : ctx_(ctx) {}

  // Called once, when no other call runs: stop every child, then wait for the waiters.
  ~SubprocessExecutor() override {
    std::list<std::thread> waiters;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      for (const auto& [pid, id] : children_) ::kill(pid, SIGKILL);
      waiters.swap(waiters_);
    }
    for (auto& t : waiters) t.join();
  }

  void set_listener(sdk::ExecutorListener* listener) override { listener_ = listener; }

  // Environment strings are limited to 128 KiB on Linux.
  std::size_t max_payload_bytes() const override { return 64 * 1024; }

  sdk::InvocationInfo invoke(const sdk::Invocation& invocation) override {
    sdk::SpawnOptions options;
    options.extra_env.emplace_back(kPayloadEnv, invocation.payload);
    std::lock_guard lock(mutex_);
    const pid_t pid = sdk::spawn_self_as_worker(ctx_, options);  // throws PluginError
    children_[pid] = invocation.id;
    waiters_.emplace_back([this, pid] { wait_for(pid); });
    return {std::to_string(pid), pid, true};
  }

  bool cancel(const std::string& invocation_id, int signal) override {
    std::lock_guard lock(mutex_);
    for (const auto& [pid, id] : children_) {
      if (id == invocation_id) return ::kill(pid, signal) == 0;
    }
    return false;
  }

  std::size_t running() const override {
    std::lock_guard lock(mutex_);
    return children_.size();
  }

 private:
  // Reports every child's end as a loss: when the worker already reported its exit through the
  // store, the core ignores this report.
  void wait_for(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const int code = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
    std::string id;
    {
      std::lock_guard lock(mutex_);
      id = children_[pid];
      children_.erase(pid);
      if (stopping_) return;
    }
    listener_->on_invocation_lost(id, code, "child " + std::to_string(pid) + " ended");
  }

  sdk::PluginContext ctx_;
  sdk::ExecutorListener* listener_ = nullptr;
  mutable std::mutex mutex_;
  std::map<pid_t, std::string> children_;
  bool stopping_ = false;
  std::list<std::thread> waiters_;
};

// The worker side: one payload, from the environment, then the process ends (status 0).
class SubprocessWorker : public sdk::WorkerRuntime {
 public:
  explicit SubprocessWorker(const sdk::PluginContext&) {}
  int serve(const Handler& handle) override {
    const char* payload = std::getenv(kPayloadEnv);
    if (payload == nullptr) return 2;
    const std::string copy = payload;
    ::unsetenv(kPayloadEnv);  // the function's own children should not inherit it
    handle(copy);
    return 0;
  }
};

}  // namespace

LITHOPS_EXECUTOR_PLUGIN("example_subprocess", SubprocessExecutor, SubprocessWorker)
