// A third-party executor plugin written against the installed SDK alone: one new worker process
// per invocation, the payload written to the worker's descriptor 3. Workers are started with
// lithops::sdk::spawn_self_as_worker, so nothing here knows how the core recognises a worker.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <lithops/sdk/errors.hpp>
#include <lithops/sdk/plugin.hpp>
#include <lithops/sdk/worker_launch.hpp>

namespace sdk = lithops::sdk;

namespace {

constexpr int kPayloadFd = 3;

const sdk::ConfigSchema kSchema{
    "forkexec",
    "one new worker process per invocation",
    {{"max_children", sdk::ConfigType::kInteger, "children at once", "64", 1, 4096},
     {"token", sdk::ConfigType::kString, "an example secret (unused)", "", {}, {}, true}}};

class ForkExecExecutor : public sdk::Executor {
 public:
  explicit ForkExecExecutor(const sdk::PluginContext& ctx) : ctx_(ctx) {
    if (const auto* v = ctx.section->if_contains("max_children")) {
      max_children_ = static_cast<std::size_t>(v->as_int64());
    }
  }

  // Destroyed once, with no other call running: stop the children, then their waiters.
  ~ForkExecExecutor() override {
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

  sdk::InvocationInfo invoke(const sdk::Invocation& invocation) override {
    int fds[2];  // a socket, not a pipe: send(MSG_NOSIGNAL) to a dead child is no SIGPIPE
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      throw sdk::PluginError(std::string("forkexec: socketpair: ") + std::strerror(errno));
    }
    sdk::SpawnOptions options;
    options.fds.emplace_back(fds[0], kPayloadFd);
    pid_t pid;
    {
      std::unique_lock lock(mutex_);
      if (children_.size() >= max_children_) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw sdk::PluginError("forkexec: more than forkexec.max_children (" +
                               std::to_string(max_children_) + ") invocations at once");
      }
      try {
        pid = sdk::spawn_self_as_worker(ctx_, options);
      } catch (...) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw;
      }
      children_[pid] = invocation.id;
      // A waiter per child: waitpid(-1) would reap children that are not ours.
      waiters_.emplace_back([this, pid] { wait_for(pid); });
    }
    ::close(fds[0]);
    // invoke() may block while the invocation is handed over (here: the payload written).
    std::size_t done = 0;
    const std::string& p = invocation.payload;
    while (done < p.size()) {
      const ssize_t n = ::send(fds[1], p.data() + done, p.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the child died: its waiter reports it
      done += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
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
  // Every child's end is reported: a duplicate of an exit the worker reported itself is ignored.
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
      if (stopping_) return;  // the executor is going away: no more reports
    }
    if (listener_ != nullptr) {
      listener_->on_invocation_lost(
          id, code,
          "forkexec child " + std::to_string(pid) + " ended with status " + std::to_string(code));
    }
  }

  sdk::PluginContext ctx_;
  std::size_t max_children_ = 64;
  sdk::ExecutorListener* listener_ = nullptr;
  mutable std::mutex mutex_;
  std::map<pid_t, std::string> children_;
  bool stopping_ = false;
  std::list<std::thread> waiters_;  // joined by the destructor
};

// The worker: one payload from descriptor 3, then the process ends.
class ForkExecWorker : public sdk::WorkerRuntime {
 public:
  explicit ForkExecWorker(const sdk::PluginContext&) {}
  int serve(const Handler& handle) override {
    std::string payload;
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::read(kPayloadFd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      payload.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(kPayloadFd);
    if (payload.empty()) return 2;
    handle(payload);
    return 0;
  }
};

}  // namespace

LITHOPS_EXECUTOR_PLUGIN("forkexec", ForkExecExecutor, ForkExecWorker)
LITHOPS_PLUGIN_CONFIG(kSchema)
