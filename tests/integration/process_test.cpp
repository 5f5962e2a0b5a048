// mp::Process on the localhost executor: lifecycle, exit codes, identity.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <set>
#include <thread>

#include <lithops/multiprocessing.hpp>

#include "scenario.hpp"
#include "test_functions.hpp"
#include "timing.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;
using lithops::test::read_file;
using lithops::test::temp_dir;

namespace {
void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
void throw_runtime(std::string what) { throw std::runtime_error(what); }
void exit_with(int code) { std::exit(code); }
void abort_now() { std::abort(); }
void record_identity(std::string path) {
  auto self = mp::current_process();
  auto parent = mp::parent_process();
  lithops::test::write_file(path, self.name + "|" + std::to_string(self.pid.value_or(-1)) + "|" +
                                      (parent ? parent->name : "none"));
}
void record_args(std::string path, int i, std::vector<int> v, std::tuple<int, std::string> t) {
  lithops::test::write_file(path, std::to_string(i) + ";" + std::to_string(v.size()) + ";" +
                                      std::to_string(std::get<0>(t)) + std::get<1>(t));
}
}  // namespace

LITHOPS_FUNCTION(sleep_ms);
LITHOPS_FUNCTION(throw_runtime);
LITHOPS_FUNCTION(exit_with);
LITHOPS_FUNCTION(abort_now);
LITHOPS_FUNCTION(record_identity);
LITHOPS_FUNCTION(record_args);

namespace {
void wait_on_barrier(mp::Barrier barrier, mp::Queue<int> indices) {
  indices.put(barrier.wait(std::chrono::seconds(90)));
}
}  // namespace
LITHOPS_FUNCTION(wait_on_barrier);

TEST(Process, RunsTargetWithItsArgumentsAndExitsZero) {  // PR-02
  const std::string path = temp_dir() + "/args";
  mp::Process p(record_args, path, 1, std::vector<int>{1, 2, 3}, std::make_tuple(7, "x"));
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), std::nullopt);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(read_file(path), "1;3;7x");
}

TEST(Process, ChildSeesItsNameAndParent) {  // PR-04, PR-06
  const std::string path = temp_dir() + "/identity";
  mp::Process p(mp::ProcessOptions{.name = "Special", .daemon = false}, record_identity, path);
  EXPECT_EQ(p.name(), "Special");
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  auto text = read_file(path);
  EXPECT_EQ(text.substr(0, 8), "Special|");
  EXPECT_NE(text.find("|MainProcess"), std::string::npos) << text;
  ASSERT_TRUE(p.pid().has_value());
  EXPECT_NE(text.find("|" + std::to_string(*p.pid()) + "|"), std::string::npos) << text;
  EXPECT_FALSE(mp::parent_process().has_value());
  EXPECT_EQ(mp::current_process().name, "MainProcess");
}

TEST(Process, DefaultNamesAreProcessN) {
  mp::Process a(sleep_ms, 0), b(sleep_ms, 0);
  EXPECT_EQ(a.name().rfind("Process-", 0), 0u);
  EXPECT_NE(a.name(), b.name());
}

TEST(Process, TargetThatThrowsExitsWithOne) {
  mp::Process p(throw_runtime, std::string("boom"));
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
}

TEST(Process, ExitStatusOfTheTargetIsTheExitcode) {  // PR-24 (exit(n))
  mp::Process p(exit_with, 3);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 3);
}

TEST(Process, AbortGivesMinusSix) {
  mp::Process p(abort_now);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGABRT);
}

TEST(Process, TerminateGivesMinus15) {  // PR-08
  mp::Process p(sleep_ms, 60000);
  p.start();
  EXPECT_TRUE(p.is_alive());
  p.terminate();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGTERM);
  EXPECT_FALSE(p.is_alive());
}

TEST(Process, KillGivesMinus9) {  // PR-09
  mp::Process p(sleep_ms, 60000);
  p.start();
  p.kill();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

TEST(Process, JoinWithTimeoutReturnsWhileRunning) {  // PR-07
  mp::Process p(sleep_ms, 60000);
  p.start();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(p.join(0s));
  EXPECT_FALSE(p.join(-1s));
  EXPECT_FALSE(p.join(200ms));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms + lithops::test::late_slack_ms());
  EXPECT_TRUE(p.is_alive());
  EXPECT_EQ(p.exitcode(), std::nullopt);
  p.kill();
  EXPECT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

TEST(Process, ActiveChildrenListsStartedUnjoined) {  // PR-13
  mp::Process p(sleep_ms, 60000);
  auto listed = [&] {
    for (const auto& c : mp::active_children()) {
      if (c.name == p.name()) return true;
    }
    return false;
  };
  EXPECT_FALSE(listed());
  p.start();
  EXPECT_TRUE(listed());
  p.terminate();
  p.join();
  EXPECT_FALSE(listed());
}

TEST(Process, CloseRules) {  // PR-16
  mp::Process p(sleep_ms, 60000);
  p.start();
  EXPECT_THROW(p.close(), mp::ValueError);
  p.terminate();
  p.join();
  p.close();
  p.close();  // idempotent
  EXPECT_THROW(p.is_alive(), mp::ValueError);
  EXPECT_THROW(p.join(), mp::ValueError);
  EXPECT_THROW(p.terminate(), mp::ValueError);
}

TEST(Process, StartTwiceIsAnError) {
  mp::Process p(sleep_ms, 0);
  p.start();
  EXPECT_THROW(p.start(), mp::ProcessError);
  p.join();
}

TEST(Process, ManyProcessesRunConcurrently) {
  // Every started Process runs concurrently with every other: 16 x 1 s sleeps finish in far less
  // than 16 s on 2 cores (sleeping does not need a core).
  std::vector<mp::Process> ps;
  for (int i = 0; i < 16; ++i) ps.emplace_back(sleep_ms, 1000);
  auto t0 = std::chrono::steady_clock::now();
  for (auto& p : ps) p.start();
  for (auto& p : ps) p.join();
  for (auto& p : ps) EXPECT_EQ(p.exitcode(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 12s);
}

TEST(Process, SixtyFourProcessesAliveAtOnceMeetAtOneBarrier) {
  // Each Process is its own invocation, so 64 of them all wait at once on a 2-core machine.
  constexpr int kParties = 64;
  mp::Barrier barrier(kParties);
  mp::Queue<int> indices;
  std::vector<mp::Process> ps;
  for (int i = 0; i < kParties; ++i) ps.emplace_back(wait_on_barrier, barrier, indices);
  for (auto& p : ps) p.start();
  std::set<int> seen;
  for (int i = 0; i < kParties; ++i) seen.insert(indices.get(std::chrono::seconds(120)));
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kParties));
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), kParties - 1);
  for (auto& p : ps) {
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
  }
}

// --- observed from outside: stderr of a failing child -------------------------------------------
LITHOPS_SCENARIO(throwing_child) {
  mp::Process p(throw_runtime, std::string("the message from the child"));
  p.start();
  p.join();
  std::printf("exitcode=%d\n", p.exitcode().value_or(-100));
  return 0;
}

TEST(Process, TracebackOfAFailingChildGoesToStderr) {  // PR-23
  auto run = lithops::test::run_scenario("throwing_child");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("exitcode=1"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("std::runtime_error: the message from the child"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("Traceback"), std::string::npos) << run.output;
}
