#include "worker_launcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string_view>

#include "lithops/sdk/errors.hpp"
#include "protocol.hpp"

namespace lithops::localhost {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw sdk::PluginError("localhost executor: " + what + ": " + std::strerror(errno));
}

// Descriptors the child gets are moved above the ones it dup2()s onto, so that dup2 never meets
// its own source (dup2(3, 3) would keep O_CLOEXEC and exec would close the socket).
UniqueFd above_fixed_fds(UniqueFd fd) {
  if (fd.get() > kEventFd) return fd;
  const int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, kEventFd + 1);
  if (moved < 0) fail("fcntl(F_DUPFD_CLOEXEC)");
  return UniqueFd(moved);
}

std::pair<UniqueFd, UniqueFd> make_socketpair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) fail("socketpair");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Only async-signal-safe calls from here to execve: the parent may have had other threads holding
// locks (malloc's among them) at the moment of fork().
[[noreturn]] void exec_child(pid_t parent, int requests, int events, int devnull, char* const* argv,
                             char* const* envp) {
  // Dies with the forking thread; if the parent is already gone (it died before prctl), go now.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(127);
  // The monitor thread blocks every signal and the driver may ignore some; a worker starts like a
  // freshly launched program instead, so cancel()'s SIGTERM is never blocked or ignored.
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction action {};
    if (::sigaction(sig, nullptr, &action) == 0 && action.sa_handler == SIG_IGN) {
      action.sa_handler = SIG_DFL;
      ::sigaction(sig, &action, nullptr);
    }
  }
  // stdin is the driver's terminal, not the worker's (as in Python's multiprocessing).
  if (::dup2(devnull, STDIN_FILENO) < 0 || ::dup2(requests, kRequestFd) < 0 ||
      ::dup2(events, kEventFd) < 0) {
    ::_exit(127);
  }
  // Leak nothing else into the worker, even descriptors someone opened without O_CLOEXEC.
  ::syscall(SYS_close_range, kEventFd + 1, UINT_MAX, 0);
  ::execve("/proc/self/exe", argv, envp);
  const int error = errno;
  char frame[kLengthBytes + 1 + sizeof error];
  const std::uint32_t length = 1 + sizeof error;
  std::memcpy(frame, &length, sizeof length);
  frame[kLengthBytes] = static_cast<char>(FrameType::kExecFailed);
  std::memcpy(frame + kLengthBytes + 1, &error, sizeof error);
  [[maybe_unused]] const ssize_t ignored = ::write(kEventFd, frame, sizeof frame);
  ::_exit(127);
}

}  // namespace

WorkerLauncher::WorkerLauncher(sdk::Environment worker_env, sdk::Environment extra_env)
    : argv_(sdk::self_arguments()), overrides_(std::move(extra_env)) {
  // The worker-mode variables and our descriptors win over a user's worker_env of the same name.
  for (auto& v : worker_env) overrides_.push_back(std::move(v));
  overrides_.emplace_back(kFdsEnv, std::to_string(kRequestFd) + "," + std::to_string(kEventFd));
  devnull_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull_.valid()) fail("open(/dev/null)");
}

SpawnedWorker WorkerLauncher::spawn() const {
  // Everything the child needs is built before fork(): it may not allocate afterwards.
  std::vector<std::string> env_strings = sdk::environment_with(overrides_);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv_;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);

  auto [requests, child_requests] = make_socketpair();
  auto [events, child_events] = make_socketpair();
  child_requests = above_fixed_fds(std::move(child_requests));
  child_events = above_fixed_fds(std::move(child_events));
  // Each end is used in one direction only; shutting the other makes a mistake fail loudly.
  ::shutdown(requests.get(), SHUT_RD);
  ::shutdown(events.get(), SHUT_WR);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    exec_child(parent, child_requests.get(), child_events.get(), devnull_.get(), argv.data(),
               envp.data());
  }
  SpawnedWorker worker;
  worker.pid = pid;
  worker.requests = std::move(requests);
  worker.events = std::move(events);
  const long pidfd = ::syscall(SYS_pidfd_open, pid, 0);
  // pidfd_open always sets O_CLOEXEC; without it (kernel < 5.3) the monitor polls waitpid().
  if (pidfd >= 0) worker.pidfd.reset(static_cast<int>(pidfd));
  return worker;
}

WorkerExit describe_exit(pid_t pid, int wait_status) {
  const std::string who = "worker pid " + std::to_string(pid);
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    const char* abbrev = ::sigabbrev_np(sig);
    std::string name = abbrev != nullptr ? std::string(" (SIG") + abbrev + ")" : std::string();
    return {-sig, who + " was killed by signal " + std::to_string(sig) + name};
  }
  const int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 1;
  return {code, who + " exited with status " + std::to_string(code)};
}

}  // namespace lithops::localhost
