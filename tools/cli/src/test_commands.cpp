// `lithops test`: a smoke run of every primitive on the configured backend (Process, Pool.map,
// Queue, Lock, Event, Pipe for each transport found, Value, Manager dict, SharedMemory), each one
// crossing the driver/worker boundary, a pass/fail table with timings, exit status 3 when one
// fails. Lithops users run it after every config change.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <lithops/multiprocessing.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli_context.hpp"
#include "config_internal.hpp"
#include "plugin_loader.hpp"
#include "smoke.hpp"

namespace mp = lithops::multiprocessing;
namespace mpd = lithops::multiprocessing::detail;
using namespace std::chrono_literals;

// The worker side of each check.
namespace lithops::cli::smoke {
void nothing() {}
int square(int x) { return x * x; }
void put_back(mp::Queue<int> in, mp::Queue<int> out) { out.put(in.get(60s) + 1); }
void add_under_lock(mp::Lock lock, mp::Value<int> v) {
  for (int i = 0; i < 10; ++i) {
    std::lock_guard g(lock);
    v.set(v.value() + 1);
  }
}
void set_event(mp::Event go, mp::Event done) {
  if (go.wait(60s)) done.set();
}
void echo_pipe(mp::Connection c) { c.send(c.recv<std::string>() + "!"); }
void increment(mp::Value<long long> v) { v += 41; }
void put_in_dict(mp::DictProxy<std::string, int> d) { d.set("answer", 42); }
void write_shm(std::string name) {
  mp::SharedMemory shm(name);
  shm.write(0, std::string_view("pong"));
  shm.close();
}
}  // namespace lithops::cli::smoke

LITHOPS_FUNCTION(lithops::cli::smoke::nothing);
LITHOPS_FUNCTION(lithops::cli::smoke::square);
LITHOPS_FUNCTION(lithops::cli::smoke::put_back);
LITHOPS_FUNCTION(lithops::cli::smoke::add_under_lock);
LITHOPS_FUNCTION(lithops::cli::smoke::set_event);
LITHOPS_FUNCTION(lithops::cli::smoke::echo_pipe);
LITHOPS_FUNCTION(lithops::cli::smoke::increment);
LITHOPS_FUNCTION(lithops::cli::smoke::put_in_dict);
LITHOPS_FUNCTION(lithops::cli::smoke::write_shm);

namespace lithops::cli {
namespace {

[[noreturn]] void failed(const std::string& what) { throw std::runtime_error(what); }

void expect_joined(mp::Process& p) {
  if (!p.join(120s)) failed("the Process did not end within 120 s");
  if (p.exitcode() != 0) {
    failed("the Process ended with exitcode " +
           (p.exitcode() ? std::to_string(*p.exitcode()) : std::string("none")));
  }
}

void check_process() {
  mp::Process p(smoke::nothing);
  p.start();
  expect_joined(p);
}

void check_pool() {
  mp::Pool pool(2);
  const auto r = pool.map(smoke::square, std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8});
  if (r != std::vector<int>{1, 4, 9, 16, 25, 36, 49, 64}) failed("Pool.map returned wrong values");
  pool.close();
  pool.join();
}

void check_queue() {
  mp::Queue<int> in, out;
  mp::Process p(smoke::put_back, in, out);
  p.start();
  in.put(41);
  if (out.get(120s) != 42) failed("the Queue carried a wrong value");
  expect_joined(p);
}

void check_lock() {
  mp::Lock lock;
  mp::Value<int> v(0, mp::no_lock);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 2; ++i) ps.emplace_back(smoke::add_under_lock, lock, v);
  for (auto& p : ps) p.start();
  for (int i = 0; i < 10; ++i) {
    std::lock_guard g(lock);
    v.set(v.value() + 1);
  }
  for (auto& p : ps) expect_joined(p);
  if (v.value() != 30) failed("30 increments under the Lock gave " + std::to_string(v.value()));
}

void check_event() {
  mp::Event go, done;
  mp::Process p(smoke::set_event, go, done);
  p.start();
  go.set();
  if (!done.wait(120s)) failed("the worker's Event.set() was not seen within 120 s");
  expect_joined(p);
}

void check_pipe(const std::string& transport) {
  mp::config::set_parameter(mp::config::PIPE_CONNECTION_TYPE, boost::json::value(transport));
  auto [mine, theirs] = mp::Pipe();
  mp::Process p(smoke::echo_pipe, theirs);
  p.start();
  mine.send(std::string("ping"));
  const auto back = mine.recv<std::string>(120s);
  if (back != "ping!") failed("the Pipe answered " + back.value_or("nothing within 120 s"));
  expect_joined(p);
}

void check_value() {
  mp::Value<long long> v(1);
  mp::Process p(smoke::increment, v);
  p.start();
  expect_joined(p);
  if (v.value() != 42) failed("the Value holds " + std::to_string(v.value()) + ", not 42");
}

void check_manager() {
  mp::Manager m;
  auto d = m.dict<std::string, int>();
  mp::Process p(smoke::put_in_dict, d);
  p.start();
  expect_joined(p);
  if (d.get("answer") != 42) failed("the Manager dict lacks the worker's entry");
  m.shutdown();
}

void check_shared_memory() {
  mp::SharedMemory shm(std::nullopt, true, 16);
  mp::Process p(smoke::write_shm, shm.name());
  p.start();
  expect_joined(p);
  const auto got = shm.read(0, 4);
  shm.close();
  shm.unlink();
  if (got != "pong") failed("the SharedMemory block holds '" + got + "'");
}

struct Check {
  std::string name;
  std::function<void()> run;
};

int run_checks(CliContext& context, const std::string& only) {
  apply_cli_config(context);
  std::vector<Check> checks{{"Process", check_process},
                            {"Pool.map", check_pool},
                            {"Queue", check_queue},
                            {"Lock", check_lock},
                            {"Event", check_event}};
  const std::string default_pipe = mpd::parameters().pipe_connection_type;
  std::vector<std::string> transports;
  for (const auto& f : mpd::scan_plugin_files()) {
    if (f.kind == "pipe" && f.shadowed_by.empty()) transports.push_back(f.name);
  }
  if (transports.empty()) transports.push_back(default_pipe);
  for (const auto& t : transports) {
    checks.push_back({"Pipe (" + t + ")", [t] { check_pipe(t); }});
  }
  checks.push_back({"Value", check_value});
  checks.push_back({"Manager dict", check_manager});
  checks.push_back({"SharedMemory", check_shared_memory});

  std::erase_if(checks, [&](const Check& c) {
    return !only.empty() && c.name.find(only) == std::string::npos;
  });
  if (checks.empty()) throw CliError("no check matches --only '" + only + "'");
  const auto plugins = plugins_in_use(mpd::effective_config());
  std::cout << "lithops test: backend " << plugins.backend << ", state store " << plugins.state
            << "\n";
  std::printf("%-22s %-6s %10s  %s\n", "PRIMITIVE", "RESULT", "TIME (ms)", "DETAIL");
  int failures = 0, ran = 0;
  for (const auto& c : checks) {
    ++ran;
    std::string detail;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      c.run();
    } catch (const std::exception& e) {
      detail = e.what();
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    mp::config::set_parameter(mp::config::PIPE_CONNECTION_TYPE, boost::json::value(default_pipe));
    if (!detail.empty()) ++failures;
    std::printf("%-22s %-6s %10.1f  %s\n", c.name.c_str(), detail.empty() ? "pass" : "FAIL", ms,
                detail.c_str());
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed\n", ran - failures, failures);
  return failures > 0 ? kExitBroken : 0;
}

}  // namespace

void add_test_commands(CLI::App& app, CliContext& context) {
  auto* cmd = app.add_subcommand(
      "test", "smoke-test every primitive on the configured backend; a pass/fail table");
  cmd->footer(
      "Examples:\n"
      "  lithops test                       # after every config change\n"
      "  lithops test --only Pipe           # the checks whose name contains 'Pipe'\n"
      "Exit status: 0 all passed, 3 one or more failed, 1 configuration error.");
  auto only = std::make_shared<std::string>();
  cmd->add_option("--only", *only, "run only the checks whose name contains this text");
  cmd->callback([&context, only] { context.exit_code = run_checks(context, *only); });
}

}  // namespace lithops::cli
