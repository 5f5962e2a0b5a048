#include "scenario.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

namespace lithops::test {
namespace {
std::map<std::string, Scenario>& scenarios() {
  static auto* m = new std::map<std::string, Scenario>();
  return *m;
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("readlink /proc/self/exe failed");
  return std::string(buf, static_cast<std::size_t>(n));
}

RunningScenario spawn(const std::string& name, const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::vector<std::string> argv_s{self_exe(), "--scenario=" + name};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  return RunningScenario{pid, fds[0], ""};
}

std::string read_available(int fd, int timeout_ms, bool until_line) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (until_line && out.find('\n') != std::string::npos) break;
  }
  return out;
}

int decode(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return -WTERMSIG(wstatus);
  return -1000;
}
}  // namespace

ScenarioRegistrar::ScenarioRegistrar(const char* name, Scenario fn) { scenarios()[name] = fn; }

int run_scenario_if_requested(int argc, char** argv) {
  if (argc < 2 || std::strncmp(argv[1], "--scenario=", 11) != 0) return -1;
  std::string name = argv[1] + 11;
  auto it = scenarios().find(name);
  if (it == scenarios().end()) return 99;
  std::vector<std::string> args(argv + 2, argv + argc);
  return it->second(args);
}

ScenarioRun run_scenario(const std::string& name, const std::vector<std::string>& args,
                         int timeout_seconds) {
  auto r = spawn(name, args);
  ScenarioRun result;
  result.pid = r.pid;
  result.output = read_available(r.out_fd, timeout_seconds * 1000, false);
  result.status = wait_scenario(r, 5);
  return result;
}

RunningScenario start_scenario(const std::string& name, const std::vector<std::string>& args) {
  auto r = spawn(name, args);
  r.first_line = read_available(r.out_fd, 30000, true);
  return r;
}

int wait_scenario(RunningScenario& r, int timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  int wstatus = 0;
  for (;;) {
    pid_t w = ::waitpid(static_cast<pid_t>(r.pid), &wstatus, WNOHANG);
    if (w == r.pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(static_cast<pid_t>(r.pid), SIGKILL);
      ::waitpid(static_cast<pid_t>(r.pid), &wstatus, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (r.out_fd >= 0) ::close(r.out_fd);
  r.out_fd = -1;
  return decode(wstatus);
}

bool pid_gone_within(long long pid, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;
    // A zombie whose parent is gone will be reaped by init; check its state.
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    auto close_paren = line.rfind(')');
    if (close_paren != std::string::npos && close_paren + 2 < line.size() &&
        line[close_paren + 2] == 'Z') {
      return true;
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace lithops::test
