// Conformance cases of mp::Process (IDs of CPython's test_multiprocessing cases, catalogued by the
// project; each test says what it checks), on
// the localhost executor with real workers and a real redis-server. Also: the warm-worker reuse
// of the localhost executor after join(), and throw-site tracebacks of a failing child.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <lithops/multiprocessing.hpp>

#include "scenario.hpp"
#include "test_functions.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;
using lithops::test::read_file;
using lithops::test::temp_dir;

namespace {

std::string describe(const mp::ProcessInfo& p) {
  return p.name + "|" + std::to_string(p.pid.value_or(-1)) + "|" + (p.daemon ? "daemon" : "-") +
         "|" + p.authkey + "|" + (p.is_alive() ? "alive" : "dead") + "|" + p.ident;
}

void report_current(mp::Queue<std::string> q) {
  q.put(describe(mp::current_process()) + "|getpid=" + std::to_string(::getpid()));
}

void pc_sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
void pc_noop() {}

// PR-05: a grandchild sees its parent alive, then ended after the parent is terminated.
void watch_parent(mp::Queue<std::string> q) {
  auto parent = mp::parent_process();
  if (!parent) {
    q.put("no parent");
    return;
  }
  q.put(parent->is_alive() ? "alive" : "dead");
  q.put(parent->name + "|" + parent->ident);
}
void start_watcher_then_sleep(mp::Queue<std::string> q) {
  mp::Process grandchild(watch_parent, q);
  grandchild.start();
  std::this_thread::sleep_for(std::chrono::seconds(100));  // terminated by the test long before
}

// PR-14: processes start processes (depth 2, each child joined before the next); all report in
// order.
void recurse(mp::Queue<std::vector<int>> out, std::vector<int> id) {
  out.put(id);
  if (id.size() >= 2) return;
  for (int i = 0; i < 2; ++i) {
    auto next = id;
    next.push_back(i);
    mp::Process p(recurse, out, next);
    p.start();
    p.join();
  }
}

// PR-18: the Process does not keep its target alive after the run.
void put_five(mp::Queue<int> q, std::string /*payload*/) { q.put(5); }

// PR-19: non-daemon threads are joined before the process exits; daemon threads die with it.
void threads_at_exit(mp::Event event) {
  mp::start_thread([event]() mutable {
    std::this_thread::sleep_for(500ms);
    event.set();
  });
  mp::start_thread(
      [event]() mutable {
        std::this_thread::sleep_for(1500ms);
        event.clear();
      },
      /*daemon=*/true);
}

// PR-24: sys_exit(code/bool/none/reason) sets the exit code as Python's sys.exit.
void exit_code(int code) { mp::sys_exit(code); }
void exit_bool(bool b) { mp::sys_exit(b); }
void exit_default() { mp::sys_exit(); }
void exit_reason(std::string reason) { mp::sys_exit(reason); }
void exit_unwinds(std::string path) {
  struct OnUnwind {
    std::string path;
    ~OnUnwind() { lithops::test::write_file(path, "unwound"); }
  } guard{path};
  mp::sys_exit(4);
}

// PR-25: atexit handlers registered in a child run when it exits normally.
void register_atexit(std::string path) {
  mp::atexit_register([path] { lithops::test::write_file(path, "deadbeef"); });
}

// PR-26: a child starts a grandchild with the same Queue; items from both arrive.
void put_value(mp::Queue<int> q, int v) { q.put(v); }
void put_and_start_grandchild(mp::Queue<int> q) {
  mp::Process p(put_value, q, 2);
  p.start();
  q.put(1);
  p.join();
}

// PR-27: the child reports the same start method (here: backend) as its parent.
void report_start_method(mp::Queue<std::string> q) { q.put(mp::get_start_method()); }

// PR-28: a child can create and use its own Queue and child, or its own Pool.
int pc_square(int x) { return x * x; }
void child_with_own_queue_and_child(mp::Queue<int> out) {
  mp::Queue<int> mine;
  mp::Process p(put_value, mine, 7);
  p.start();
  out.put(mine.get(std::chrono::seconds(60)));
  p.join();
}
void child_with_own_pool(mp::Queue<int> out) {
  mp::Pool pool(2);
  auto squares = pool.map(pc_square, std::vector<int>{1, 2, 3, 4});
  pool.close();
  pool.join();
  int sum = 0;
  for (int s : squares) sum += s;
  out.put(sum);
}

// Tracebacks: the throwing function must appear in the child's stderr.
[[gnu::noipa]] void throw_deep_level3(int depth) {
  if (depth >= 0) throw std::runtime_error("thrown three levels down");
}
[[gnu::noipa]] void throw_deep_level2(int depth) {
  throw_deep_level3(depth + 1);
  std::printf("unreachable\n");
}
[[gnu::noipa]] void throw_deep_level1(int depth) {
  throw_deep_level2(depth + 1);
  std::printf("unreachable\n");
}
void process_throw_deep() { throw_deep_level1(0); }

// PR-22: a Process subclass overriding run() works (an upper-casing echo over a Pipe).
void upper_echo(mp::Connection conn) {
  // None (or nothing within a minute) stops it.
  while (
      auto msg =
          conn.recv<std::optional<std::string>>(std::chrono::seconds(60)).value_or(std::nullopt)) {
    std::string up = *msg;
    std::transform(up.begin(), up.end(), up.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    conn.send(std::optional<std::string>(up));
  }
  conn.close();
}

}  // namespace

LITHOPS_FUNCTION(report_current);
LITHOPS_FUNCTION(pc_sleep_ms);
LITHOPS_FUNCTION(pc_noop);
LITHOPS_FUNCTION(watch_parent);
LITHOPS_FUNCTION(start_watcher_then_sleep);
LITHOPS_FUNCTION(recurse);
LITHOPS_FUNCTION(put_five);
LITHOPS_FUNCTION(threads_at_exit);
LITHOPS_FUNCTION(exit_code);
LITHOPS_FUNCTION(exit_bool);
LITHOPS_FUNCTION(exit_default);
LITHOPS_FUNCTION(exit_reason);
LITHOPS_FUNCTION(exit_unwinds);
LITHOPS_FUNCTION(register_atexit);
LITHOPS_FUNCTION(put_value);
LITHOPS_FUNCTION(put_and_start_grandchild);
LITHOPS_FUNCTION(report_start_method);
LITHOPS_FUNCTION(pc_square);
LITHOPS_FUNCTION(child_with_own_queue_and_child);
LITHOPS_FUNCTION(child_with_own_pool);
LITHOPS_FUNCTION(process_throw_deep);
LITHOPS_FUNCTION(upper_echo);

namespace {
int run_to_exit(mp::Process& p) {
  p.start();
  EXPECT_TRUE(p.join(std::chrono::seconds(60)));
  return p.exitcode().value_or(-1000);
}
}  // namespace

// Adapted: a ProcessInfo describes a running process, so it has no exit code field (Python's
// exitcode is None there); ident is the invocation id (empty for the main process) rather than
// the pid, and the pid is the OS pid of the worker running it.
TEST(Process, PR_01_CurrentProcess) {
  const auto me = mp::current_process();
  EXPECT_EQ(me.name, "MainProcess");
  EXPECT_TRUE(me.is_alive());
  EXPECT_FALSE(me.daemon);
  EXPECT_FALSE(me.authkey.empty());
  EXPECT_EQ(me.pid, static_cast<long long>(::getpid()));
  EXPECT_TRUE(me.ident.empty());

  mp::Queue<std::string> q;
  mp::Process p(report_current, q);
  p.start();
  const auto line = q.get(std::chrono::seconds(60));
  p.join();
  ASSERT_TRUE(p.pid().has_value());
  const std::string pid = std::to_string(*p.pid());
  EXPECT_EQ(line,
            p.name() + "|" + pid + "|-|" + me.authkey + "|alive|" + p.ident() + "|getpid=" + pid);
}

// Adapted: on the localhost executor a grandchild is a worker process of its parent's worker, so
// terminating the parent ends the grandchild with it and nobody is left to observe the parent's
// end from there. The grandchild checks that its parent_process() is alive and hands that same
// description back; the test then watches the parent's end through it as the grandchild would.
TEST(Process, PR_05_GrandchildSeesItsParentEnd) {
  mp::Queue<std::string> q;
  mp::Process parent(start_watcher_then_sleep, q);
  parent.start();
  EXPECT_EQ(q.get(std::chrono::seconds(60)), "alive");
  EXPECT_EQ(q.get(std::chrono::seconds(60)), parent.name() + "|" + parent.ident());
  mp::ProcessInfo seen;  // what the grandchild's parent_process() described
  seen.name = parent.name();
  seen.ident = parent.ident();
  EXPECT_TRUE(seen.is_alive());
  EXPECT_FALSE(seen.join(100ms));
  parent.terminate();
  EXPECT_TRUE(seen.join(60s));
  EXPECT_FALSE(seen.is_alive());
  parent.join();
  EXPECT_EQ(parent.exitcode(), -SIGTERM);
}

// PR-14: processes start processes (depth 2, each child joined before the next); all report in
// order.
TEST(Process, PR_14_Recursion) {
  mp::Queue<std::vector<int>> q;
  mp::Process p(recurse, q, std::vector<int>{});
  EXPECT_EQ(run_to_exit(p), 0);
  std::vector<std::vector<int>> got;
  for (int i = 0; i < 7; ++i) got.push_back(q.get(std::chrono::seconds(30)));
  const std::vector<std::vector<int>> expected{{}, {0}, {0, 0}, {0, 1}, {1}, {1, 0}, {1, 1}};
  EXPECT_EQ(got, expected);
}

// PR-17: 100 short processes all exit 0; sleepers that are terminate()d all end with -SIGTERM.
TEST(Process, PR_17_ManyProcesses) {
  std::vector<mp::Process> short_lived;
  for (int i = 0; i < 100; ++i) short_lived.emplace_back(pc_noop);
  for (auto& p : short_lived) p.start();
  for (auto& p : short_lived) {
    ASSERT_TRUE(p.join(std::chrono::seconds(90)));
    EXPECT_EQ(p.exitcode(), 0);
  }
  std::vector<mp::Process> sleepers;
  for (int i = 0; i < 10; ++i) sleepers.emplace_back(pc_sleep_ms, 60000);
  for (auto& p : sleepers) p.start();
  for (auto& p : sleepers) p.terminate();
  for (auto& p : sleepers) {
    ASSERT_TRUE(p.join(std::chrono::seconds(30)));
    EXPECT_EQ(p.exitcode(), -SIGTERM);
  }
}

// Adapted: the target is a registered function (nothing to keep alive) and the arguments are
// serialised when the Process is made, so the caller's objects are never referenced by it.
TEST(Process, PR_18_LoseTargetRef) {
  mp::Queue<int> q;
  auto payload = std::make_shared<std::string>(1 << 20, 'x');
  std::weak_ptr<std::string> watch = payload;
  mp::Process p(put_five, q, *payload);
  payload.reset();
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(run_to_exit(p), 0);
  EXPECT_EQ(q.get(std::chrono::seconds(30)), 5);
}

// Adapted: threads are started with mp::start_thread (threading.Thread); a plain std::thread is
// the program's own business. The daemon thread would clear the event 1.5 s after it started.
TEST(Process, PR_19_WaitForThreads) {
  mp::Event event;
  mp::Process p(threads_at_exit, event);
  EXPECT_EQ(run_to_exit(p), 0);
  EXPECT_TRUE(event.is_set());  // the non-daemon thread ran before the exit was reported
  // The worker process itself is gone (not kept warm while a daemon thread runs on)...
  ASSERT_TRUE(p.pid().has_value());
  EXPECT_TRUE(lithops::test::pid_gone_within(*p.pid(), 30));
  EXPECT_TRUE(event.is_set());  // ...so the daemon thread died with it, before clearing the event
}

// Adapted: mp::sys_exit is sys.exit. Python's sys.exit([1,2,3]) (a non-int) has no C++ form; a
// string reason stands for every non-int argument.
TEST(Process, PR_24_SysExit) {
  const std::vector<std::pair<int, int>> codes{{1, 1}, {0, 0}, {8, 8}, {300, 300 & 0xff}};
  for (auto [code, expected] : codes) {
    mp::Process p(exit_code, code);
    EXPECT_EQ(run_to_exit(p), expected) << code;
  }
  mp::Process t(exit_bool, true), f(exit_bool, false), d(exit_default);
  EXPECT_EQ(run_to_exit(t), 1);
  EXPECT_EQ(run_to_exit(f), 0);
  EXPECT_EQ(run_to_exit(d), 0);
  const std::string path = temp_dir() + "/unwound";
  mp::Process u(exit_unwinds, path);
  EXPECT_EQ(run_to_exit(u), 4);
  EXPECT_EQ(read_file(path), "unwound");  // sys_exit unwinds the target's stack
}

LITHOPS_SCENARIO(sys_exit_with_reason) {
  mp::Process p(exit_reason, std::string("ignore this"));
  p.start();
  p.join();
  std::printf("exitcode=%d\n", p.exitcode().value_or(-100));
  return 0;
}

// PR-24: sys_exit(code/bool/none/reason) sets the exit code as Python's sys.exit.
TEST(Process, PR_24_SysExitWithAReasonWritesItToStderr) {
  auto run = lithops::test::run_scenario("sys_exit_with_reason");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("exitcode=1"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("ignore this"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("Traceback"), std::string::npos) << run.output;
}

// Adapted: handlers are registered with mp::atexit_register (atexit.register); on the warm-worker
// model std::atexit would run only when the worker process itself exits.
TEST(Process, PR_25_AtExit) {
  const std::string path = temp_dir() + "/atexit";
  mp::Process p(register_atexit, path);
  EXPECT_EQ(run_to_exit(p), 0);
  EXPECT_EQ(read_file(path), "deadbeef");
}

// PR-26: a child starts a grandchild with the same Queue; items from both arrive.
TEST(Process, PR_26_NestedStartMethod) {
  mp::Queue<int> q;
  mp::Process p(put_and_start_grandchild, q);
  EXPECT_EQ(run_to_exit(p), 0);
  std::set<int> got{q.get(std::chrono::seconds(30)), q.get(std::chrono::seconds(30))};
  EXPECT_EQ(got, (std::set<int>{1, 2}));
}

// Adapted: a start method is a backend (see context.hpp); one session runs on one backend.
TEST(Process, PR_27_Context) {
  const auto all = mp::get_all_start_methods();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front(), "localhost");
  EXPECT_EQ(mp::get_start_method(), "localhost");
  auto& ctx = mp::get_context("localhost");
  EXPECT_EQ(ctx.get_start_method(), "localhost");
  EXPECT_EQ(&ctx.get_context(), &ctx);
  EXPECT_EQ(&mp::get_context("localhost"), &ctx);
  EXPECT_EQ(&mp::get_context(), &ctx);
  EXPECT_THROW(ctx.set_start_method("localhost"), mp::ValueError);
  EXPECT_THROW(mp::get_context("no_such_backend"), mp::ValueError);
  EXPECT_THROW(mp::set_start_method("no_such_backend"), mp::ValueError);
  mp::set_start_method("localhost", /*force=*/true);
  EXPECT_EQ(mp::get_start_method(), "localhost");

  mp::Queue<std::string> q;
  auto p = ctx.process(report_start_method, q);
  EXPECT_EQ(run_to_exit(p), 0);
  EXPECT_EQ(q.get(std::chrono::seconds(30)), "localhost");  // the child reports the same method
  // Now the session runs: another backend can be neither chosen nor used through a context.
  for (const auto& m : all) {
    if (m == "localhost") continue;
    EXPECT_THROW(mp::set_start_method(m, true), mp::ValueError) << m;
    EXPECT_THROW(mp::get_context(m).process(pc_noop), mp::ValueError) << m;
  }
}

// PR-28: a child can create and use its own Queue and child, or its own Pool.
TEST(Process, PR_28_ChildCreatesItsOwnQueueChildAndPool) {
  mp::Queue<int> out;
  mp::Process a(child_with_own_queue_and_child, out);
  EXPECT_EQ(run_to_exit(a), 0);
  EXPECT_EQ(out.get(std::chrono::seconds(30)), 7);
  mp::Process b(child_with_own_pool, out);
  EXPECT_EQ(run_to_exit(b), 0);
  EXPECT_EQ(out.get(std::chrono::seconds(30)), 1 + 4 + 9 + 16);
}

// PR-03: daemon defaults to the creating process's flag; daemon= in the constructor is honoured.
TEST(Process, PR_03_DaemonArgument) {
  // By default a Process takes the creating process's flag: the driver is not daemonic.
  mp::Process p0(pc_noop);
  EXPECT_EQ(p0.daemon(), mp::current_process().daemon);
  EXPECT_FALSE(p0.daemon());
  mp::Process p1(mp::ProcessOptions{.name = "", .daemon = true}, pc_noop);
  EXPECT_TRUE(p1.daemon());
  mp::Process p2(mp::ProcessOptions{.name = "", .daemon = false}, pc_noop);
  EXPECT_FALSE(p2.daemon());
  // The flag reaches the child: its current_process().daemon says the same.
  mp::Queue<std::string> q;
  mp::Process d(mp::ProcessOptions{.name = "", .daemon = true}, report_current, q);
  EXPECT_TRUE(d.daemon());
  EXPECT_EQ(run_to_exit(d), 0);
  const auto seen_d = q.get(std::chrono::seconds(60));
  EXPECT_EQ(seen_d.rfind(d.name() + "|" + std::to_string(d.pid().value_or(-1)) + "|daemon|", 0), 0u)
      << seen_d;
  mp::Process n(mp::ProcessOptions{.name = "", .daemon = false}, report_current, q);
  EXPECT_EQ(run_to_exit(n), 0);
  const auto seen_n = q.get(std::chrono::seconds(60));
  EXPECT_EQ(seen_n.rfind(n.name() + "|" + std::to_string(n.pid().value_or(-1)) + "|-|", 0), 0u)
      << seen_n;
}

// PR-12: cpu_count() is an int >= 1.
TEST(Process, PR_12_CpuCount) {
  const int n = mp::cpu_count();
  EXPECT_GE(n, 1);
  EXPECT_EQ(mp::cpu_count(), n);  // stable between calls
}

// Adapted: mp::Process runs a registered function and has no virtual run() to override, so the
// subclass of the Python case becomes a Process whose target is the same upper-casing echo; None
// is std::nullopt (JSON null) on the Pipe.
TEST(Process, PR_22_Subclassing) {
  auto [parent_end, child_end] = mp::Pipe();
  mp::Process p(upper_echo, child_end);
  p.start();
  child_end.close();
  parent_end.send(std::optional<std::string>("hello"));
  EXPECT_EQ(parent_end.recv<std::optional<std::string>>(std::chrono::seconds(60)),
            std::optional<std::optional<std::string>>(std::string("HELLO")));
  parent_end.send(std::optional<std::string>("world"));
  EXPECT_EQ(parent_end.recv<std::optional<std::string>>(std::chrono::seconds(60)),
            std::optional<std::optional<std::string>>(std::string("WORLD")));
  parent_end.send(std::optional<std::string>());
  EXPECT_TRUE(p.join(std::chrono::seconds(60)));
  EXPECT_EQ(p.exitcode(), 0);
}

// --- warm-worker reuse (localhost executor) -----------------------------------------------------
// join() returns once the worker that ran the Process is idle again, so the next start() always
// finds it, however loaded the machine: no timing involved.
TEST(Process, ProcessStartedAfterJoinReusesTheWarmWorker) {
  std::optional<long long> first;
  for (int i = 0; i < 20; ++i) {
    mp::Process p(pc_noop);
    p.start();
    p.join();
    ASSERT_EQ(p.exitcode(), 0);
    ASSERT_TRUE(p.pid().has_value());
    if (!first) first = p.pid();
    EXPECT_EQ(p.pid(), first) << "run " << i << " got a cold worker";
  }
}

// --- traceback of a failing child names the function that threw -------------------------------
LITHOPS_SCENARIO(throw_deep_child) {
  mp::Process p(process_throw_deep);
  p.start();
  p.join();
  std::printf("exitcode=%d\n", p.exitcode().value_or(-100));
  return 0;
}

TEST(Process, TracebackOfAFailingChildIsTheThrowSite) {
  auto run = lithops::test::run_scenario("throw_deep_child");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("exitcode=1"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("where it was thrown"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("throw_deep_level3"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("throw_deep_level2"), std::string::npos) << run.output;
}
