// Starting workers: what an executor plugin gives a process so that it becomes a worker of this
// plugin. Header-only helpers, not part of the ABI.
//
// A worker is the user's own program started again: its main() calls mp::init(argc, argv), which
// sees the environment below, loads this plugin's WorkerRuntime and serves invocations instead of
// running main() as a new driver. An executor that starts workers as local processes calls
//
//   lithops::sdk::spawn_self_as_worker(ctx, {{"MY_PLUGIN_SOCKET", "..."}})
//
// or, to start them its own way (another host, a container, a fork with its own descriptors),
// uses self_executable(), self_arguments() and worker_environment(ctx) and starts that program
// with those arguments and that environment (plus the caller's own environment). A plugin never
// writes the core's variable names itself.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lithops/sdk/errors.hpp"
#include "lithops/sdk/plugin_context.hpp"

extern char** environ;

namespace lithops::sdk {

// The variables mp::init() reads in a worker. Plugins use worker_environment(), not these names.
inline constexpr const char* kWorkerBackendEnv = "LITHOPS_WORKER_BACKEND";
inline constexpr const char* kWorkerPluginFileEnv = "LITHOPS_WORKER_PLUGIN_FILE";

using Environment = std::vector<std::pair<std::string, std::string>>;

// What makes mp::init() serve as a worker of the plugin `ctx` was given to: the plugin's name and
// the file the driver loaded it from (so the worker loads the very same file). Throws PluginError
// when the context does not say which plugin it is (a context the core did not make).
inline Environment worker_environment(const PluginContext& ctx) {
  if (ctx.plugin_name.empty()) {
    throw PluginError(
        "worker_environment: the PluginContext carries no plugin name; pass the context the "
        "core gave the executor's constructor");
  }
  Environment env{{kWorkerBackendEnv, ctx.plugin_name}};
  if (!ctx.plugin_file.empty()) env.emplace_back(kWorkerPluginFileEnv, ctx.plugin_file);
  return env;
}

// The running program's executable (/proc/self/exe resolved), "" if it cannot be read.
inline std::string self_executable() {
  std::string path(4096, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size());
  if (n <= 0) return {};
  path.resize(static_cast<std::size_t>(n));
  return path;
}

// The arguments the running program was started with (argv[0] included).
inline std::vector<std::string> self_arguments() {
  std::vector<std::string> args;
  std::string cmdline;
  const int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buffer[4096];
    ssize_t got = 0;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0) {
      cmdline.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fd);
  }
  std::size_t start = 0;
  while (start < cmdline.size()) {
    std::size_t end = cmdline.find('\0', start);
    if (end == std::string::npos) end = cmdline.size();
    args.emplace_back(cmdline, start, end - start);
    start = end + 1;
  }
  if (args.empty()) args.emplace_back(self_executable());
  return args;
}

// This process's environment with `overrides` set (replacing variables of the same name), as
// "NAME=VALUE" strings for execve().
inline std::vector<std::string> environment_with(const Environment& overrides) {
  std::vector<std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view e(*entry);
    bool replaced = false;
    for (const auto& [name, value] : overrides) {
      replaced = replaced || (e.size() > name.size() && e.substr(0, name.size()) == name &&
                              e[name.size()] == '=');
    }
    if (!replaced) out.emplace_back(e);
  }
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    bool later = false;  // the last of several overrides of one name wins
    for (std::size_t j = i + 1; j < overrides.size(); ++j) {
      later = later || overrides[j].first == overrides[i].first;
    }
    if (!later) out.push_back(overrides[i].first + "=" + overrides[i].second);
  }
  return out;
}

struct SpawnOptions {
  Environment extra_env;                 // the plugin's own variables
  std::vector<std::pair<int, int>> fds;  // {descriptor here, descriptor in the worker}
  bool stdin_from_dev_null = true;       // as Python's multiprocessing children
};

// Starts the running program again as a worker of this plugin (posix_spawn): same executable and
// arguments, this environment plus worker_environment(ctx) and `options.extra_env`, signal
// dispositions and mask reset to defaults. Returns the child's pid; the caller reaps it
// (waitpid) and reports it lost if it exits before its invocation ended (see executor.hpp).
// Throws PluginError naming the failing call.
inline pid_t spawn_self_as_worker(const PluginContext& ctx, const SpawnOptions& options = {}) {
  Environment overrides = worker_environment(ctx);
  overrides.insert(overrides.end(), options.extra_env.begin(), options.extra_env.end());
  std::vector<std::string> env = environment_with(overrides);
  std::vector<std::string> args = self_arguments();
  const std::string exe = self_executable();
  std::vector<char*> envp;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attr);
  if (options.stdin_from_dev_null) {
    ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  for (const auto& [from, to] : options.fds) ::posix_spawn_file_actions_adddup2(&actions, from, to);
  sigset_t all, none;
  ::sigfillset(&all);
  ::sigemptyset(&none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, exe.empty() ? "/proc/self/exe" : exe.c_str(), &actions, &attr,
                               argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    throw PluginError("spawn_self_as_worker: cannot start " + exe + ": " + std::strerror(rc));
  }
  return pid;
}

}  // namespace lithops::sdk
