// Conformance section 6 (Event) and issue 3's "Event wakes all waiters", across processes.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <lithops/multiprocessing.hpp>

#include "test_util.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;
using lithops::test::Stopwatch;

namespace {
void set_after(mp::Event ev, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  ev.set();
}

// EV-03's child: sees the parent's set, then clears it.
void see_set_then_clear(mp::Event ev, mp::Queue<bool> out) {
  out.put(ev.is_set());
  Stopwatch s;
  out.put(ev.wait() && s.seconds() < 1.0);
  ev.clear();
  out.put(true);
}

void wait_and_report(mp::Event ev, mp::Queue<int> ready, mp::Queue<int> woken, int id) {
  ready.put(id);
  if (ev.wait(60s)) woken.put(id);
}
}  // namespace

LITHOPS_FUNCTION(set_after);
LITHOPS_FUNCTION(see_set_then_clear);
LITHOPS_FUNCTION(wait_and_report);

// EV-01: is_set/wait(0)/wait(T1) before set(), at once after set(); a child's later set() wakes
// wait().
TEST(Event, EV01_Event) {
  mp::Event ev;
  EXPECT_FALSE(ev.is_set());

  Stopwatch s0;
  EXPECT_FALSE(ev.wait(0s));
  EXPECT_QUICK(s0.seconds());

  Stopwatch s1;
  EXPECT_FALSE(ev.wait(200ms));
  EXPECT_TOOK_ABOUT(s1.seconds(), 0.2);

  ev.set();
  EXPECT_TRUE(ev.is_set());
  Stopwatch s2;
  EXPECT_TRUE(ev.wait());
  EXPECT_TRUE(ev.wait(200ms));
  EXPECT_QUICK(s2.seconds());

  ev.clear();
  EXPECT_FALSE(ev.is_set());
  mp::Process child(set_after, ev, 300);
  child.start();
  EXPECT_TRUE(ev.wait());
  EXPECT_TRUE(ev.is_set());
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
}

TEST(Event, EV03_SetInParentClearInChild) {
  mp::Event ev;
  mp::Queue<bool> out;
  ev.set();
  mp::Process child(see_set_then_clear, ev, out);
  child.start();
  EXPECT_TRUE(out.get(30s)) << "the child sees the parent's set()";
  EXPECT_TRUE(out.get(30s)) << "the child's wait() returns at once";
  EXPECT_TRUE(out.get(30s));
  child.join();
  EXPECT_FALSE(ev.is_set()) << "the child's clear() is seen by the parent";
  EXPECT_FALSE(ev.wait(1ms));
}

TEST(Event, SetWakesAllWaitingProcesses) {
  constexpr int kWaiters = 4;
  mp::Event ev;
  mp::Queue<int> ready, woken;
  std::vector<mp::Process> waiters;
  for (int i = 0; i < kWaiters; ++i) waiters.emplace_back(wait_and_report, ev, ready, woken, i);
  for (auto& w : waiters) w.start();
  for (int i = 0; i < kWaiters; ++i) ready.get(30s);
  ASSERT_TRUE(lithops::test::wait_for_blocked_clients(kWaiters)) << "the waiters never blocked";
  EXPECT_THROW(woken.get(false), mp::Empty);
  Stopwatch s;
  ev.set();
  std::set<int> ids;
  for (int i = 0; i < kWaiters; ++i) ids.insert(woken.get(10s));
  EXPECT_LT(s.seconds(), lithops::test::late_slack())
      << "waiters are woken promptly, not by polling";
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kWaiters));
  for (auto& w : waiters) {
    w.join();
    EXPECT_EQ(w.exitcode(), 0);
  }
}

TEST(Event, SetWakesWaitingThreads) {
  mp::Event ev;
  std::vector<std::thread> threads;
  std::atomic<int> woken{0};
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      if (ev.wait(30s)) ++woken;
    });
  }
  const bool blocked = lithops::test::wait_for_blocked_clients(3);
  ev.set();
  for (auto& t : threads) t.join();
  EXPECT_TRUE(blocked) << "the waiting threads never blocked in the server";
  EXPECT_EQ(woken.load(), 3);
}

TEST(Event, ClearedEventTimesOut) {
  mp::Event ev;
  ev.set();
  ev.clear();
  Stopwatch s;
  EXPECT_FALSE(ev.wait(300ms));
  EXPECT_TOOK_ABOUT(s.seconds(), 0.3);
}

// EV-02: repr shows <Event at 0x... unset>, then set after set(), unset after clear().
TEST(Event, EV02_Repr) {
  mp::Event ev;
  const std::string unset = ev.repr();
  EXPECT_EQ(unset.rfind("<Event at 0x", 0), 0u) << unset;
  EXPECT_EQ(unset.substr(unset.size() - 7), " unset>") << unset;
  ev.set();
  EXPECT_EQ(ev.repr().substr(ev.repr().size() - 5), " set>");
  EXPECT_EQ(ev.repr().find("unset"), std::string::npos);
  ev.clear();
  EXPECT_EQ(ev.repr(), unset);
}
