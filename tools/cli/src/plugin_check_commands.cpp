// `lithops plugin check NAME`: a conformance run of a plugin, with a pass/fail table.
//
// An executor plugin runs Processes that end every way a Process can end (exit 0/1/3, std::exit,
// abort, SIGKILL, terminate(), kill()), a Pool whose worker is lost, a 20 MiB argument and
// STREAM_STDOUT. The workers are this very program started again (the plugin's own launcher
// decides how): main() calls mp::init() first, so they serve instead of running the CLI. A pipe
// transport runs the Connection basics. Every check has a deadline: a plugin that loses an
// invocation without reporting it fails the check instead of hanging it.
#include "plugin_check_commands.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <lithops/multiprocessing.hpp>

#include "cli_context.hpp"
#include "plugin_loader.hpp"

namespace mp = lithops::multiprocessing;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// --- what the workers run ------------------------------------------------------------------------

void check_exit(int code) {
  if (code == 1) throw std::runtime_error("plugin check: an exception ends the target with 1");
  if (code != 0) mp::sys_exit(code);
}
LITHOPS_FUNCTION(check_exit);

void check_std_exit(int code) {
  std::fflush(nullptr);
  std::exit(code);
}
LITHOPS_FUNCTION(check_std_exit);

void check_abort() { std::abort(); }
LITHOPS_FUNCTION(check_abort);

void check_sigkill() { ::raise(SIGKILL); }
LITHOPS_FUNCTION(check_sigkill);

void check_sleep(int seconds) { std::this_thread::sleep_for(std::chrono::seconds(seconds)); }
LITHOPS_FUNCTION(check_sleep);

void check_size(std::string big, long long expected) {
  if (static_cast<long long>(big.size()) != expected) mp::sys_exit(2);
}
LITHOPS_FUNCTION(check_size);

void check_print(std::string token) { std::cout << token << std::endl; }
LITHOPS_FUNCTION(check_print);

int check_square_or_die(int x) {
  if (x == 3) ::raise(SIGKILL);  // the pool loses this worker mid-task
  return x * x;
}
LITHOPS_FUNCTION(check_square_or_die);

int check_square(int x) { return x * x; }
LITHOPS_FUNCTION(check_square);

void check_echo(mp::Connection c) { c.send_bytes(c.recv_bytes()); }
LITHOPS_FUNCTION(check_echo);

// --- the driver side ---------------------------------------------------------------------------

struct Result {
  explicit Result(std::string name) : check(std::move(name)) {}
  std::string check;
  bool passed = false;
  std::string detail;
};

constexpr auto kDeadline = 120s;

std::string exit_text(const std::optional<int>& code) {
  return code ? "exitcode " + std::to_string(*code) : std::string("still running after 120 s");
}

// Starts fn(args...), optionally acts on it, joins and compares the exit code.
template <class F, class... A>
Result process_check(const std::string& name, int expected, std::function<void(mp::Process&)> act,
                     F fn, A... args) {
  Result r{name};
  try {
    mp::Process p(fn, args...);
    p.start();
    if (act) act(p);
    p.join(kDeadline);
    const auto code = p.exitcode();
    r.passed = code && *code == expected;
    r.detail = exit_text(code) + (r.passed ? "" : ", expected " + std::to_string(expected));
    if (!code) p.kill();
  } catch (const std::exception& e) {
    r.detail = e.what();
  }
  return r;
}

// Runs `body` with this process's stdout going to a file; returns what was written.
std::string capture_stdout(const std::function<void()>& body) {
  std::fflush(stdout);
  std::cout.flush();
  char path[] = "/tmp/lithops-plugin-check-XXXXXX";
  const int file = ::mkstemp(path);
  if (file < 0) throw std::runtime_error("cannot create a temporary file");
  const int saved = ::dup(STDOUT_FILENO);
  ::dup2(file, STDOUT_FILENO);
  std::string error;
  try {
    body();
  } catch (const std::exception& e) {
    error = e.what();
  }
  std::cout.flush();
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(file);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove(path);
  if (!error.empty()) throw std::runtime_error(error);
  return text.str();
}

std::vector<Result> check_executor(const std::string& name) {
  mp::set_start_method(name);
  std::vector<Result> out;
  out.push_back(process_check("Process exit 0", 0, nullptr, check_exit, 0));
  out.push_back(process_check("Process exception -> 1", 1, nullptr, check_exit, 1));
  out.push_back(process_check("Process sys_exit(3)", 3, nullptr, check_exit, 3));
  out.push_back(process_check("Process std::exit(4) (lost)", 4, nullptr, check_std_exit, 4));
  out.push_back(process_check("Process abort() (lost)", -SIGABRT, nullptr, check_abort));
  out.push_back(process_check("Process SIGKILL (lost)", -SIGKILL, nullptr, check_sigkill));
  out.push_back(process_check(
      "Process.terminate()", -SIGTERM, [](mp::Process& p) { p.terminate(); }, check_sleep, 60));
  out.push_back(process_check(
      "Process.kill()", -SIGKILL, [](mp::Process& p) { p.kill(); }, check_sleep, 60));
  {
    const long long size = 20LL << 20;
    out.push_back(process_check("20 MiB argument", 0, nullptr, check_size,
                                std::string(static_cast<std::size_t>(size), 'x'), size));
  }
  {
    Result r{"Pool worker lost"};
    try {
      mp::Pool pool(2);
      try {
        pool.map_async(check_square_or_die, std::vector<int>{1, 2, 3, 4}, 1).get(kDeadline);
        r.detail = "map returned although a worker was killed mid-task";
      } catch (const mp::ProcessError& e) {
        // As a lost task must: an error naming the loss, then the pool goes on.
        auto again = pool.map_async(check_square, std::vector<int>{1, 2, 3}, 1).get(kDeadline);
        r.passed = again == std::vector<int>{1, 4, 9};
        r.detail = r.passed ? std::string("ProcessError, then the pool goes on")
                            : std::string("the pool did not recover");
      }
      pool.terminate();
    } catch (const std::exception& e) {
      r.detail = e.what();
    }
    out.push_back(r);
  }
  {
    Result r{"STREAM_STDOUT"};
    try {
      const std::string token = "plugin-check-token-" + std::to_string(::getpid());
      const std::string printed = capture_stdout([&] {
        mp::config::set_parameter(mp::config::STREAM_STDOUT, true);
        mp::Process p(check_print, token);
        p.start();
        p.join(kDeadline);
        mp::config::set_parameter(mp::config::STREAM_STDOUT, false);
      });
      r.passed = printed.find(token) != std::string::npos;
      r.detail = r.passed ? "the worker's line reached the driver's stdout"
                          : "the worker's line did not reach the driver's stdout";
    } catch (const std::exception& e) {
      r.detail = e.what();
    }
    out.push_back(r);
  }
  return out;
}

std::vector<Result> check_pipe(const std::string& name) {
  mp::config::set_parameter(mp::config::PIPE_CONNECTION_TYPE, json::value(name));
  std::vector<Result> out;
  auto run = [&](const std::string& check, const std::function<std::string()>& body) {
    Result r{check};
    try {
      r.detail = body();
      r.passed = r.detail.empty();
      if (r.passed) r.detail = "ok";
    } catch (const std::exception& e) {
      r.detail = e.what();
    }
    out.push_back(r);
  };
  run("send/recv in order", [] {
    auto [a, b] = mp::Pipe();
    for (int i = 0; i < 100; ++i) a.send_bytes(std::to_string(i));
    for (int i = 0; i < 100; ++i) {
      if (b.recv_bytes() != std::to_string(i)) return std::string("message out of order");
    }
    return std::string();
  });
  run("64 MiB message", [] {
    auto [a, b] = mp::Pipe();
    const std::string big(64u << 20, 'y');
    a.send_bytes(big);
    return b.recv_bytes() == big ? std::string() : std::string("message changed");
  });
  run("poll(timeout) on an empty pipe", [] {
    auto [a, b] = mp::Pipe();
    return b.poll(200ms) ? std::string("poll said ready on an empty pipe") : std::string();
  });
  run("an end in another process", [] {
    auto [a, b] = mp::Pipe();
    mp::Process p(check_echo, b);
    p.start();
    a.send_bytes("ping");
    const auto back = a.recv_bytes(kDeadline);
    p.join(kDeadline);
    if (!back) return std::string("no answer from the Process within 120 s");
    return *back == "ping" ? std::string() : std::string("the answer changed");
  });
  run("close -> EOFError", [] {
    auto [a, b] = mp::Pipe();
    a.send_bytes("last");
    a.close();
    if (b.recv_bytes() != "last") return std::string("the message sent before close was lost");
    try {
      b.recv_bytes();
    } catch (const mp::EOFError&) {
      return std::string();
    }
    return std::string("recv after the peer closed did not raise EOFError");
  });
  return out;
}

Result check_declaration(const std::string& name, const mp::detail::PluginSchema& found) {
  Result r{"config declaration"};
  if (found.schema == nullptr) {
    r.passed = true;
    r.detail = "none (its section is accepted with any keys)";
  } else if (found.schema->section != name) {
    r.detail = "declares section '" + found.schema->section + "', expected '" + name + "'";
  } else {
    r.passed = true;
    r.detail = std::to_string(found.schema->keys.size()) + " keys declared";
  }
  return r;
}

int run_check(const std::string& name, const std::string& plugin_dir,
              const std::string& config_file) {
  // The library reads the config file itself; --config names it the library's way.
  if (!config_file.empty()) ::setenv("LITHOPS_CONFIG_FILE", config_file.c_str(), 1);
  if (!plugin_dir.empty()) {
    // Before anything loads a plugin; workers inherit it.
    const char* old = std::getenv("LITHOPS_PLUGIN_PATH");
    std::string path = std::filesystem::absolute(plugin_dir).string();
    if (old != nullptr && *old != '\0') path += std::string(":") + old;
    ::setenv("LITHOPS_PLUGIN_PATH", path.c_str(), 1);
  }
  std::vector<Result> results;
  mp::detail::PluginSchema found;
  {
    Result load{"load"};
    try {
      found = mp::detail::plugin_schema(name);
      load.passed = !found.kind.empty();
      if (load.passed) {
        load.detail = found.kind + " plugin, name, kind and ABI version agree";
      } else {
        load.detail = "no plugin named '" + name + "' on the plugin path; there are";
        for (const char* kind : {"executor", "state", "pipe"}) {
          std::string names;
          for (const auto& n : mp::detail::plugin_names(kind)) names += " " + n;
          load.detail += std::string(" ") + kind + ":" + (names.empty() ? " (none)" : names) + ";";
        }
        load.detail += " give --plugin-dir or set LITHOPS_PLUGIN_PATH";
      }
    } catch (const std::exception& e) {
      load.detail = e.what();
    }
    results.push_back(load);
  }
  if (results.front().passed) {
    results.push_back(check_declaration(name, found));
    std::vector<Result> more;
    if (found.kind == "executor") more = check_executor(name);
    if (found.kind == "pipe") more = check_pipe(name);
    if (found.kind == "state") {
      // Every primitive is built on the store: the executor checks on localhost, with this store
      // holding the session (its section of the config file says where its server is).
      mp::config::set_parameter(mp::config::LITHOPS_CONFIG,
                                json::object{{"lithops", json::object{{"state_store", name}}}});
      more = check_executor("localhost");
    }
    results.insert(results.end(), more.begin(), more.end());
  }
  std::size_t passed = 0;
  std::cout << "lithops plugin check " << name
            << " (worker stderr above, such as the traceback of 'exception -> 1', is expected)\n";
  for (const auto& r : results) {
    passed += r.passed ? 1 : 0;
    std::string check = r.check;
    check.resize(std::max<std::size_t>(check.size(), 30), ' ');
    std::cout << "  " << check << (r.passed ? " PASS  " : " FAIL  ") << r.detail << "\n";
  }
  std::cout << passed << " of " << results.size() << " checks passed" << std::endl;
  mp::shutdown();
  return passed == results.size() ? 0 : 1;
}

}  // namespace

namespace lithops::cli {

void add_plugin_commands(CLI::App& app, CliContext& context) {
  auto* plugin = app.add_subcommand("plugin", "inspect and test Lithops plugins");
  plugin->require_subcommand(1);
  auto* check = plugin->add_subcommand(
      "check",
      "conformance run of a plugin (executor, state store or pipe transport), with a "
      "pass/fail table");
  static std::string name;
  static std::string dir;
  check->add_option("name", name, "the plugin's name (liblithops_<kind>_<name>.so)")->required();
  check->add_option("--plugin-dir", dir,
                    "directory holding the plugin (prepended to the search "
                    "path, LITHOPS_PLUGIN_PATH)");
  check->callback([&context] {
    const int code = run_check(name, dir, context.config_file);
    if (code != 0) throw CliError("plugin '" + name + "' failed the conformance check");
  });
}

}  // namespace lithops::cli
