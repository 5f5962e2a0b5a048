// Condition (conformance section 5), waiters in child processes and in threads.
// Not ported: CO-07's SIGINT part ([L]), CO-08 (TestSyncManagerTypes: manager-only).
#include <gtest/gtest.h>

#include <mutex>
#include <stdexcept>
#include <thread>

#include <lithops/multiprocessing.hpp>

#include "sync_test_util.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;
using lithops::test::eventually_equals;
using lithops::test::Stopwatch;
using lithops::test::wait_for_blocked_clients;

namespace {
// CPython sleeps DELTA to let the waiters block before it checks that nobody woke. Here the test
// waits until the waiters that should still wait are all blocked in the server (each waits on its
// own wake list): a waiter woken by mistake would not block again (it counts itself woken and
// ends), so the count is never reached and the test fails.

// CPython's waiter: under the lock, counts itself sleeping, waits, counts itself woken.
void cond_waiter(mp::Condition cond, mp::Value<int> sleeping, mp::Value<int> woken,
                 double timeout_s) {
  std::unique_lock guard(cond);
  sleeping += 1;
  if (timeout_s < 0) {
    cond.wait();
  } else {
    cond.wait(std::chrono::duration<double>(timeout_s));
  }
  woken += 1;
}

void cond_state_child(mp::Condition cond, mp::Value<int> state) {
  std::unique_lock guard(cond);
  state.set(0);
  cond.notify();
  if (!cond.wait_for([&] { return state.value() == 4; }, 60s)) {
    throw std::runtime_error("never saw state 4");
  }
}

void cond_bump_three(mp::Condition cond, mp::Value<int> state) {
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(10ms);
    std::lock_guard guard(cond);
    state += 1;
    cond.notify();
  }
}

void cond_notify_once(mp::Condition cond) {
  std::lock_guard guard(cond);
  cond.notify();
}

void cond_consumer(mp::Condition cond, mp::Value<int> items, mp::Value<int> consumed, int n) {
  for (int i = 0; i < n; ++i) {
    std::unique_lock guard(cond);
    if (!cond.wait_for([&] { return items.value() > 0; }, 60s)) {
      throw std::runtime_error("starved");
    }
    items -= 1;
    consumed += 1;
  }
}

// Starts `procs` processes and `threads` threads running cond_waiter.
struct Waiters {
  std::vector<mp::Process> procs;
  std::vector<std::thread> threads;
  Waiters(int n_procs, int n_threads, mp::Condition& c, mp::Value<int>& sleeping,
          mp::Value<int>& woken, double timeout_s) {
    for (int i = 0; i < n_procs; ++i)
      procs.emplace_back(cond_waiter, c, sleeping, woken, timeout_s);
    for (auto& p : procs) p.start();
    for (int i = 0; i < n_threads; ++i) {
      threads.emplace_back(
          [c, sleeping, woken, timeout_s] { cond_waiter(c, sleeping, woken, timeout_s); });
    }
  }
  void join() {
    for (auto& t : threads) t.join();
    for (auto& p : procs) {
      p.join();
      EXPECT_EQ(p.exitcode(), 0);
    }
  }
};
}  // namespace

LITHOPS_FUNCTION(cond_waiter);
LITHOPS_FUNCTION(cond_state_child);
LITHOPS_FUNCTION(cond_bump_three);
LITHOPS_FUNCTION(cond_notify_once);
LITHOPS_FUNCTION(cond_consumer);

TEST(Condition, CO01_NotifyWakesExactlyOne) {
  mp::Condition cond;
  mp::Value<int> sleeping(0), woken(0);
  Waiters w(1, 1, cond, sleeping, woken, -1);
  ASSERT_TRUE(eventually_equals(sleeping, 2));
  EXPECT_TRUE(wait_for_blocked_clients(2));
  EXPECT_EQ(woken.value(), 0);
  {
    std::lock_guard guard(cond);
    cond.notify();
  }
  ASSERT_TRUE(eventually_equals(woken, 1));
  EXPECT_TRUE(wait_for_blocked_clients(1));
  EXPECT_EQ(woken.value(), 1);
  {
    std::lock_guard guard(cond);
    cond.notify();
  }
  ASSERT_TRUE(eventually_equals(woken, 2));
  w.join();
}

// CO-02: six timed waiters all time out; six untimed ones block until one notify_all() wakes all.
TEST(Condition, CO02_NotifyAll) {
  mp::Condition cond;
  mp::Value<int> sleeping(0), woken(0);
  Waiters timed(3, 3, cond, sleeping, woken, 0.5);  // all time out, nobody notifies
  ASSERT_TRUE(eventually_equals(woken, 6));
  timed.join();

  mp::Value<int> sleeping2(0), woken2(0);
  Waiters forever(3, 3, cond, sleeping2, woken2, -1);
  ASSERT_TRUE(eventually_equals(sleeping2, 6));
  EXPECT_TRUE(wait_for_blocked_clients(6));
  EXPECT_EQ(woken2.value(), 0);
  {
    std::lock_guard guard(cond);
    cond.notify_all();
  }
  ASSERT_TRUE(eventually_equals(woken2, 6));
  forever.join();
}

// CO-03: notify(2) wakes exactly 2 of 6 waiters, notify(4) the rest; notify with nobody waiting is
// lost.
TEST(Condition, CO03_NotifyN) {
  mp::Condition cond;
  mp::Value<int> sleeping(0), woken(0);
  Waiters w(3, 3, cond, sleeping, woken, -1);
  ASSERT_TRUE(eventually_equals(sleeping, 6));
  {
    std::lock_guard guard(cond);
    cond.notify(2);
  }
  ASSERT_TRUE(eventually_equals(woken, 2));
  EXPECT_TRUE(wait_for_blocked_clients(4));
  EXPECT_EQ(woken.value(), 2);
  {
    std::lock_guard guard(cond);
    cond.notify(4);
  }
  ASSERT_TRUE(eventually_equals(woken, 6));
  {
    std::lock_guard guard(cond);
    cond.notify(3);  // nobody waits: nothing changes, nothing is remembered
  }
  EXPECT_EQ(woken.value(), 6);
  {
    std::unique_lock guard(cond);
    EXPECT_FALSE(cond.wait(0.2s)) << "a notify with no waiter was remembered";
  }
  w.join();
}

// CO-04: wait(T) with no notifier returns False after about T.
TEST(Condition, CO04_Timeout) {
  mp::RLock lock;
  mp::Condition cond(lock);
  std::unique_lock guard(cond);
  Stopwatch sw;
  EXPECT_FALSE(cond.wait(0.35s));
  EXPECT_TOOK_ABOUT(sw.seconds(), 0.35);
  EXPECT_EQ(lock.count(), 1);  // re-acquired after the timeout
}

TEST(Condition, CO05_WaitForAcrossProcesses) {
  mp::Condition cond;
  mp::Value<int> state(-1);
  std::unique_lock guard(cond);
  mp::Process p(cond_state_child, cond, state);
  p.start();
  EXPECT_TRUE(cond.wait_for([&] { return state.value() == 0; }));
  for (int i = 0; i < 4; ++i) {
    guard.unlock();
    guard.lock();
    state += 1;
    cond.notify();
  }
  guard.unlock();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Condition, CO06_WaitForTimeout) {
  mp::Condition cond;
  mp::Value<int> state(0);
  mp::Process p(cond_bump_three, cond, state);
  std::unique_lock guard(cond);
  p.start();
  Stopwatch sw;
  EXPECT_FALSE(cond.wait_for([&] { return state.value() == 4; }, 0.1s));
  EXPECT_GE(sw.seconds(), 0.1 - lithops::test::kClockRes);
  guard.unlock();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(state.value(), 3);
}

// CO-07: wait(0) and wait(0.1) return False; wait(60) returns True when a child notifies.
TEST(Condition, CO07_WaitResult) {
  mp::Condition cond;
  std::unique_lock guard(cond);
  EXPECT_FALSE(cond.wait(0s));
  EXPECT_FALSE(cond.wait(0.1s));
  mp::Process p(cond_notify_once, cond);
  p.start();  // it blocks on the lock until this wait() releases it
  EXPECT_TRUE(cond.wait(60s));
  guard.unlock();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Condition, CO09_WaitOrNotifyWithoutTheLockRaises) {
  mp::Condition cond;
  EXPECT_THROW(cond.wait(0.1s), mp::ValueError);
  EXPECT_THROW(cond.notify(), mp::ValueError);
  EXPECT_THROW(cond.notify_all(), mp::ValueError);
  std::lock_guard guard(cond);
  std::thread([&] { EXPECT_THROW(cond.notify(), mp::ValueError); }).join();  // other owner
}

TEST(Condition, WaitReleasesAnRLockFullyAndRestoresItsLevel) {
  mp::RLock lock;
  mp::Condition cond(lock);
  lock.acquire();
  lock.acquire();
  std::thread notifier([&] {
    std::lock_guard guard(cond);  // only possible while the waiter is inside wait()
    cond.notify();
  });
  EXPECT_TRUE(cond.wait(30s));
  notifier.join();
  EXPECT_EQ(lock.count(), 2);
  lock.release();
  lock.release();
  EXPECT_FALSE(lock.locked());
}

TEST(Condition, OverAPlainLock) {
  mp::Lock lock;
  mp::Condition cond(lock);
  std::unique_lock guard(cond);
  EXPECT_TRUE(lock.locked());
  EXPECT_FALSE(cond.wait(0.1s));
  EXPECT_TRUE(lock.locked());
  mp::Process p(cond_notify_once, cond);
  p.start();
  EXPECT_TRUE(cond.wait(60s));
  guard.unlock();
  EXPECT_FALSE(lock.locked());
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Condition, ProducerConsumerWithNotify) {
  mp::Condition cond;
  mp::Value<int> items(0), consumed(0);
  std::vector<mp::Process> consumers;
  for (int i = 0; i < 2; ++i) consumers.emplace_back(cond_consumer, cond, items, consumed, 5);
  for (auto& c : consumers) c.start();
  for (int i = 0; i < 10; ++i) {
    std::lock_guard guard(cond);
    items += 1;
    cond.notify();
  }
  for (auto& c : consumers) {
    c.join();
    EXPECT_EQ(c.exitcode(), 0);
  }
  EXPECT_EQ(consumed.value(), 10);
  EXPECT_EQ(items.value(), 0);
}

TEST(Condition, ProducerConsumerWithNotifyAll) {
  mp::Condition cond;
  mp::Value<int> items(0), consumed(0);
  std::vector<mp::Process> consumers;
  for (int i = 0; i < 3; ++i) consumers.emplace_back(cond_consumer, cond, items, consumed, 2);
  for (auto& c : consumers) c.start();
  EXPECT_TRUE(wait_for_blocked_clients(3)) << "the consumers never waited";
  {
    std::lock_guard guard(cond);
    items += 6;
    cond.notify_all();
  }
  for (auto& c : consumers) {
    c.join();
    EXPECT_EQ(c.exitcode(), 0);
  }
  EXPECT_EQ(consumed.value(), 6);
  EXPECT_EQ(items.value(), 0);
}
