#include "local_executor.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <utility>

#include "lithops/sdk/errors.hpp"
#include "protocol.hpp"

namespace lithops::localhost {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// epoll tags: the wake eventfd, or a worker's pid with the kind of descriptor in the low bits.
constexpr std::uint64_t kWakeTag = 0;
constexpr std::uint64_t kEventsKind = 1;
constexpr std::uint64_t kPidfdKind = 2;
constexpr std::uint64_t tag(pid_t pid, std::uint64_t kind) {
  return (static_cast<std::uint64_t>(pid) << 2) | kind;
}

constexpr auto kShutdownGrace = std::chrono::seconds(2);
// How often exits are polled for workers the kernel gave no pidfd (Linux < 5.3).
constexpr int kExitPollMs = 50;
constexpr int kMaxEvents = 64;

[[noreturn]] void fail_errno(const std::string& what) {
  throw sdk::PluginError("localhost executor: " + what + ": " + std::strerror(errno));
}

int ceil_ms(Clock::duration d) {
  if (d <= Clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<milliseconds>(d).count();
  return static_cast<int>(std::min<long long>(ms, 24LL * 3600 * 1000));
}

}  // namespace

LocalExecutor::LocalExecutor(const sdk::PluginContext& context)
    : config_(LocalConfig::parse(context.section)),
      launcher_(sdk::worker_environment(context), config_.worker_env) {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) fail_errno("epoll_create1");
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd_.valid()) fail_errno("eventfd");
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.u64 = kWakeTag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &wake_event) != 0) {
    fail_errno("epoll_ctl");
  }
  monitor_ = std::thread([this] { monitor_main(); });
  if (config_.prewarm == 0) return;

  std::vector<std::future<WorkerPtr>> started;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < config_.prewarm; ++i) {
      auto request = std::make_shared<SpawnRequest>();
      started.push_back(request->result.get_future());
      spawn_queue_.push_back(std::move(request));
      ++spawning_;
    }
  }
  wake();
  try {
    // Waiting for the forks makes "prewarm" mean the first invocations find warm workers.
    for (auto& f : started) f.get();
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake();
    monitor_.join();
    throw;
  }
}

LocalExecutor::~LocalExecutor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  released_cv_.notify_all();
  wake();
  if (monitor_.joinable()) monitor_.join();
}

void LocalExecutor::set_listener(sdk::ExecutorListener* listener) { listener_.store(listener); }

sdk::InvocationInfo LocalExecutor::invoke(const sdk::Invocation& invocation) {
  const std::string& id = invocation.id;
  if (id.size() > kMaxBody || invocation.payload.size() > kMaxBody - id.size() - 5) {
    throw sdk::PluginError("localhost executor: payload of invocation " + id + " is too large (" +
                           std::to_string(invocation.payload.size()) + " bytes, limit 4 GiB)");
  }
  const std::string header = invoke_header(id, invocation.payload.size());
  for (;;) {
    WorkerPtr worker;
    std::shared_ptr<SpawnRequest> request;
    int requests_fd = -1;
    {
      std::unique_lock lock(mutex_);
      if (stopping_) throw sdk::PluginError("localhost executor: invoke() during shutdown");
      if (invocations_.contains(id)) {
        throw sdk::PluginError("localhost executor: invocation id " + id + " is already running");
      }
      if (!idle_.empty()) {
        worker = std::move(idle_.back());
        idle_.pop_back();
        worker->state = State::kBusy;
        worker->invocation = id;
        worker->delivering = true;
        worker->cancel_signal = 0;
        requests_fd = worker->process.requests.get();
        invocations_.emplace(id, worker);
      } else {
        const std::size_t live = workers_.size() - retiring_ + spawning_;
        if (live >= config_.max_workers) {
          throw sdk::PluginError("localhost executor: all " + std::to_string(config_.max_workers) +
                                 " workers are busy; raise localhost.max_workers to run more "
                                 "invocations at once");
        }
        request = std::make_shared<SpawnRequest>();
        request->invocation = id;
        spawn_queue_.push_back(request);
        ++spawning_;
        invocations_.emplace(id, nullptr);
      }
    }
    const bool cold = worker == nullptr;
    if (cold) {
      wake();
      worker = request->result.get_future().get();  // the monitor undoes the reservation on error
      // Read under the lock, like the warm path, so the monitor's closing of it when the worker
      // later retires is ordered after this read.
      std::lock_guard lock(mutex_);
      requests_fd = worker->process.requests.get();
    }
    const bool sent = send_all(requests_fd, header, invocation.payload);
    bool lost = false;
    {
      std::lock_guard lock(mutex_);
      // Not ours any more if "done" already came back (and maybe another invoke took the worker).
      const bool ours = worker->invocation == id;
      if (ours) worker->delivering = false;
      if (sent || cold) {
        // A cold worker that died before reading is reported like any other loss: it had the
        // invocation. If the monitor saw the exit while we were writing, it left the report to us.
        if (ours && worker->state == State::kDead) {
          invocations_.erase(id);
          worker->invocation.clear();
          pending_losses_.push_back({id, worker->exit.status, worker->exit.reason});
          released_cv_.notify_all();
          lost = true;
        } else if (ours && !sent) {
          ::kill(worker->process.pid, SIGKILL);  // alive but unreachable: make its loss visible
        }
      } else if (ours) {
        // A warm worker that went away while idle: no harm done, try another one.
        invocations_.erase(id);
        worker->invocation.clear();
        if (worker->state != State::kDead) {
          worker->state = State::kBroken;
          ::kill(worker->process.pid, SIGKILL);  // a partial frame may be in its socket
        }
      }
    }
    if (lost) wake();
    if (sent || cold) {
      return sdk::InvocationInfo{std::to_string(worker->process.pid), worker->process.pid, cold};
    }
  }
}

bool LocalExecutor::cancel(const std::string& invocation_id, int signal) {
  std::lock_guard lock(mutex_);
  const auto it = invocations_.find(invocation_id);
  if (it == invocations_.end() || it->second == nullptr) return false;
  Worker& worker = *it->second;
  // The pid cannot have been reused: workers are reaped only under mutex_, and a reaped worker
  // is kDead.
  if (worker.state != State::kBusy || worker.invocation != invocation_id) return false;
  if (::kill(worker.process.pid, signal) != 0) return false;
  worker.cancel_signal = signal;
  return true;
}

bool LocalExecutor::wait_released(const std::string& invocation_id,
                                  std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return released_cv_.wait_for(lock, timeout,
                               [&] { return stopping_ || !invocations_.contains(invocation_id); });
}

std::size_t LocalExecutor::running() const {
  std::lock_guard lock(mutex_);
  return invocations_.size();
}

void LocalExecutor::wake() const {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t ignored = ::write(wake_fd_.get(), &one, sizeof one);
}

// --- monitor thread ---------------------------------------------------------------------------

void LocalExecutor::monitor_main() {
  // Signals sent to the process belong to the program's own threads, not to this one.
  sigset_t all;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
  ::pthread_setname_np(::pthread_self(), "lithops-local");

  std::vector<Loss> losses;
  for (;;) {
    wait_and_dispatch(next_timeout_ms(Clock::now()), losses);
    run_spawns();
    retire_idle(Clock::now());
    bool stop = false;
    {
      std::lock_guard lock(mutex_);
      std::move(pending_losses_.begin(), pending_losses_.end(), std::back_inserter(losses));
      pending_losses_.clear();
      stop = stopping_;
    }
    report(losses);
    if (stop) break;
  }
  shutdown_workers(losses);
  report(losses);
}

void LocalExecutor::wait_and_dispatch(int timeout_ms, std::vector<Loss>& losses) {
  if (without_pidfd_ > 0)
    timeout_ms = timeout_ms < 0 ? kExitPollMs : std::min(timeout_ms, kExitPollMs);
  epoll_event events[kMaxEvents];
  const int n = ::epoll_wait(epoll_.get(), events, kMaxEvents, timeout_ms);
  std::vector<WorkerPtr> exited;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t t = events[i].data.u64;
    if (t == kWakeTag) {
      std::uint64_t count = 0;
      [[maybe_unused]] const ssize_t ignored = ::read(wake_fd_.get(), &count, sizeof count);
      continue;
    }
    WorkerPtr worker;
    {
      std::lock_guard lock(mutex_);
      const auto it = workers_.find(static_cast<pid_t>(t >> 2));
      if (it != workers_.end()) worker = it->second;
    }
    if (worker == nullptr) continue;
    if ((t & 3) == kEventsKind) {
      read_events(worker);
    } else {
      exited.push_back(std::move(worker));
    }
  }
  for (const auto& worker : exited) collect_exit(worker, losses, false);
  if (without_pidfd_ > 0) {
    std::vector<WorkerPtr> all;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [pid, worker] : workers_) {
        if (!worker->process.pidfd.valid()) all.push_back(worker);
      }
    }
    for (const auto& worker : all) collect_exit(worker, losses, false);
  }
}

void LocalExecutor::run_spawns() {
  std::vector<std::shared_ptr<SpawnRequest>> requests;
  {
    std::lock_guard lock(mutex_);
    requests.swap(spawn_queue_);
  }
  for (auto& request : requests) {
    try {
      request->result.set_value(spawn_on_monitor(request->invocation));
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        --spawning_;
        if (!request->invocation.empty()) invocations_.erase(request->invocation);
      }
      request->result.set_exception(std::current_exception());
    }
  }
}

LocalExecutor::WorkerPtr LocalExecutor::spawn_on_monitor(const std::string& invocation) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw sdk::PluginError("localhost executor: invoke() during shutdown");
  }
  auto worker = std::make_shared<Worker>(launcher_.spawn());
  const pid_t pid = worker->process.pid;
  auto watch = [&](int fd, std::uint64_t kind) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = tag(pid, kind);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) == 0) return;
    const int error = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    errno = error;
    fail_errno("epoll_ctl");
  };
  watch(worker->process.events.get(), kEventsKind);
  worker->events_watched = true;
  if (worker->process.pidfd.valid()) {
    watch(worker->process.pidfd.get(), kPidfdKind);
  } else {
    ++without_pidfd_;
  }

  std::lock_guard lock(mutex_);
  --spawning_;
  workers_.emplace(pid, worker);
  if (invocation.empty()) {
    worker->state = State::kIdle;
    worker->idle_since = Clock::now();
    idle_.push_back(worker);
  } else {
    worker->state = State::kBusy;
    worker->invocation = invocation;
    worker->delivering = true;
    invocations_[invocation] = worker;
  }
  return worker;
}

void LocalExecutor::read_events(const WorkerPtr& worker) {
  if (!worker->events_watched) return;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t got = ::recv(worker->process.events.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (got > 0) {
      worker->inbox.append(buffer, static_cast<std::size_t>(got));
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      // End of stream stays readable forever; the pidfd tells us when the process is gone.
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, worker->process.events.get(), nullptr);
      worker->events_watched = false;
    }
    break;
  }
  while (auto frame = take_frame(worker->inbox)) {
    if (frame->type == FrameType::kExecFailed && frame->body.size() == sizeof(int)) {
      std::memcpy(&worker->exec_errno, frame->body.data(), sizeof(int));
    } else if (frame->type == FrameType::kDone) {
      std::lock_guard lock(mutex_);
      if (worker->state != State::kBusy || worker->invocation != frame->body) continue;
      invocations_.erase(worker->invocation);
      worker->invocation.clear();
      worker->delivering = false;
      worker->cancel_signal = 0;
      if (stopping_) {
        worker->state = State::kRetiring;
        ++retiring_;
      } else {
        worker->state = State::kIdle;
        worker->idle_since = Clock::now();
        idle_.push_back(worker);
      }
      released_cv_.notify_all();
    }
  }
}

bool LocalExecutor::collect_exit(const WorkerPtr& worker, std::vector<Loss>& losses, bool block) {
  const pid_t pid = worker->process.pid;
  // Peek first (WNOWAIT) so the process stays a zombie, and its pid unusable by anyone else,
  // until it is reaped under mutex_ together with the state change cancel() relies on.
  siginfo_t info{};
  const int options = WEXITED | WNOWAIT | (block ? 0 : WNOHANG);
  int peeked;
  do {
    peeked = ::waitid(P_PID, static_cast<id_t>(pid), &info, options);
  } while (peeked != 0 && errno == EINTR);
  if (peeked == 0 && info.si_pid == 0) return false;  // still running
  read_events(worker);  // a "done" written just before exiting still counts

  std::lock_guard lock(mutex_);
  WorkerExit exit;
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) {
    exit = describe_exit(pid, status);
  } else {
    exit = {255, "worker pid " + std::to_string(pid) +
                     " exited, but its status was collected elsewhere (is SIGCHLD ignored, or "
                     "does the program call waitpid(-1)?)"};
  }
  if (worker->exec_errno != 0) {
    exit.reason =
        "worker pid " + std::to_string(pid) +
        " could not start: execve(/proc/self/exe) failed: " + std::strerror(worker->exec_errno);
  } else if (worker->cancel_signal != 0 && exit.status == -worker->cancel_signal) {
    exit.reason += " (cancelled)";
  }
  if (worker->events_watched) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, worker->process.events.get(), nullptr);
    worker->events_watched = false;
  }
  if (worker->process.pidfd.valid()) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, worker->process.pidfd.get(), nullptr);
  } else {
    --without_pidfd_;
  }
  if (worker->state == State::kIdle) std::erase(idle_, worker);
  if (worker->state == State::kRetiring) --retiring_;
  worker->state = State::kDead;
  worker->exit = exit;
  workers_.erase(pid);
  if (!worker->invocation.empty() && !worker->delivering) {
    invocations_.erase(worker->invocation);
    losses.push_back({std::exchange(worker->invocation, {}), exit.status, exit.reason});
  }
  released_cv_.notify_all();
  return true;
}

void LocalExecutor::retire_idle(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  while (!idle_.empty() && idle_.front()->idle_since + config_.idle_timeout <= now) {
    WorkerPtr worker = std::move(idle_.front());
    idle_.pop_front();
    worker->state = State::kRetiring;
    ++retiring_;
    worker->process.requests.reset();  // EOF: the worker's serve() returns and it exits
  }
}

int LocalExecutor::next_timeout_ms(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  if (idle_.empty()) return -1;
  return ceil_ms(idle_.front()->idle_since + config_.idle_timeout - now);
}

void LocalExecutor::shutdown_workers(std::vector<Loss>& losses) {
  run_spawns();  // fails whatever is still queued
  std::vector<WorkerPtr> left;
  {
    std::lock_guard lock(mutex_);
    for (auto& worker : idle_) {
      worker->state = State::kRetiring;
      ++retiring_;
    }
    idle_.clear();
    for (const auto& [pid, worker] : workers_) {
      worker->process.requests.reset();
      if (worker->state == State::kBusy) ::kill(pid, SIGTERM);
    }
  }
  const auto deadline = Clock::now() + kShutdownGrace;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (workers_.empty()) return;
    }
    const auto now = Clock::now();
    if (now >= deadline) break;
    wait_and_dispatch(ceil_ms(deadline - now), losses);
  }
  {
    std::lock_guard lock(mutex_);
    for (const auto& [pid, worker] : workers_) {
      ::kill(pid, SIGKILL);
      left.push_back(worker);
    }
  }
  for (const auto& worker : left) collect_exit(worker, losses, true);
}

void LocalExecutor::report(std::vector<Loss>& losses) {
  sdk::ExecutorListener* listener = listener_.load();
  for (const auto& loss : losses) {
    if (listener == nullptr) {
      std::fprintf(stderr, "lithops localhost: invocation %s lost: %s\n", loss.invocation.c_str(),
                   loss.reason.c_str());
      continue;
    }
    try {
      listener->on_invocation_lost(loss.invocation, loss.status, loss.reason);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops localhost: listener threw for invocation %s: %s\n",
                   loss.invocation.c_str(), e.what());
    }
  }
  losses.clear();
}

}  // namespace lithops::localhost
