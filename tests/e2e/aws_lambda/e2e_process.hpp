// Child processes for the aws_lambda end-to-end tests: run a program with extra environment
// variables and a timeout, capturing its output.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace lithops::e2e {

namespace fs = std::filesystem;

struct Result {
  int status = -1;  // exit code, or -signal
  std::string out;
  std::string err;
};

inline std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs argv with extra environment variables; stdout is captured, stderr goes to a file so that
// neither pipe can fill up while the other is read.
inline Result run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  const fs::path& scratch, int timeout_seconds = 240) {
  int out[2];
  if (::pipe(out) != 0) return {};
  const fs::path err_file = scratch / ("stderr." + std::to_string(::getpid()));
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    ::dup2(out[1], 1);
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(err, 2);
    ::close(out[0]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  Result r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  char buf[4096];
  for (;;) {
    pollfd p{out[0], POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
      ::kill(pid, SIGKILL);
      r.err = "timed out after " + std::to_string(timeout_seconds) + " s\n";
      break;
    }
    const auto n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    r.out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.err += slurp(err_file);
  return r;
}

}  // namespace lithops::e2e
