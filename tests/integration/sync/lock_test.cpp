// Lock and RLock (conformance section 3), in one process and across processes.
// LK-04/RL-04 (repr) are in repr_test.cpp. Not ported: LK-06/RL-06 (TestSyncManagerTypes:
// manager-only).
#include <gtest/gtest.h>

#include <mutex>
#include <stdexcept>
#include <thread>

#include <lithops/multiprocessing.hpp>

#include "sync_test_util.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;
using lithops::test::Stopwatch;

namespace {
void expect_true(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

// Acquires and exits without releasing; records what it saw in `seen`.
void acquire_and_leave(mp::Lock lock, mp::Value<int> seen) {
  expect_true(lock.acquire(), "acquire");
  seen.set(lock.locked() ? 1 : -1);
}
void racquire_and_leave(mp::RLock lock, mp::Value<int> seen) {
  expect_true(lock.acquire(), "acquire");
  expect_true(lock.acquire(), "re-acquire");
  seen.set(static_cast<int>(lock.count()));
}
// Tries a lock held by the parent: must fail at once, then succeed once the parent lets go.
void try_then_wait(mp::Lock lock, mp::Value<int> stage) {
  expect_true(!lock.acquire(false), "acquire(false) on a held lock");
  stage.set(1);
  expect_true(lock.acquire(30s), "acquire after the parent released");
  lock.release();
  stage.set(2);
}
void release_other(mp::Lock lock) { lock.release(); }
void release_other_rlock(mp::RLock lock) {
  try {
    lock.release();
  } catch (const mp::ValueError&) {
    return;  // expected: not the owner
  }
  throw std::runtime_error("a non-owner released an RLock");
}

void increment_locked(mp::Lock lock, mp::Value<int> v, int n) {
  for (int i = 0; i < n; ++i) {
    std::lock_guard guard(lock);
    v.set(v.value() + 1);  // two round trips: only the lock keeps this from losing updates
  }
}
void increment_with_value_lock(mp::Value<int> v, int n) {
  for (int i = 0; i < n; ++i) {
    std::lock_guard guard(v.get_lock());
    v.set(v.value() + 1);
  }
}
// Receives its primitives through a Queue rather than as arguments.
void use_handles_from_queue(mp::Queue<mp::Lock> locks, mp::Queue<mp::Value<int>> values) {
  auto lock = locks.get();
  auto v = values.get();
  std::lock_guard guard(lock);
  v += 41;
}
void increment_atomic(mp::Value<int> v, int n) {
  for (int i = 0; i < n; ++i) v += 1;
}
}  // namespace

LITHOPS_FUNCTION(acquire_and_leave);
LITHOPS_FUNCTION(racquire_and_leave);
LITHOPS_FUNCTION(try_then_wait);
LITHOPS_FUNCTION(release_other);
LITHOPS_FUNCTION(release_other_rlock);
LITHOPS_FUNCTION(increment_locked);
LITHOPS_FUNCTION(increment_with_value_lock);
LITHOPS_FUNCTION(increment_atomic);
LITHOPS_FUNCTION(use_handles_from_queue);

// LK-01: acquire() True then locked(); acquire(False) on a held lock False; release(); extra
// release errs.
TEST(Lock, LK01_Lock) {
  mp::Lock lock;
  EXPECT_FALSE(lock.locked());
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.locked());
  EXPECT_FALSE(lock.acquire(false));
  EXPECT_FALSE(lock.try_acquire());
  lock.release();
  EXPECT_FALSE(lock.locked());
  EXPECT_THROW(lock.release(), mp::ValueError);
}

// LK-01: acquire() True then locked(); acquire(False) on a held lock False; release(); extra
// release errs.
TEST(Lock, LK01_TimeoutOnHeldLock) {
  mp::Lock lock;
  lock.acquire();
  Stopwatch sw;
  EXPECT_FALSE(lock.acquire(0.3s));
  EXPECT_TOOK_ABOUT(sw.seconds(), 0.3);
  Stopwatch sw2;
  EXPECT_FALSE(lock.acquire(false, 5s));  // non-blocking ignores the timeout
  EXPECT_QUICK(sw2.seconds());
  lock.release();
}

TEST(Lock, LK02_LockedSeenAcrossProcesses) {
  mp::Lock lock;
  mp::Value<int> seen(0);
  mp::Process p(acquire_and_leave, lock, seen);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(seen.value(), 1);
  EXPECT_TRUE(lock.locked());
  lock.release();  // LK-05: the parent releases the child's lock
  EXPECT_FALSE(lock.locked());
}

// LK-03: a Lock as a context guard: acquired inside, released after.
TEST(Lock, LK03_LockContext) {
  mp::Lock lock;
  {
    std::unique_lock guard(lock);
    EXPECT_TRUE(guard.owns_lock());
    EXPECT_TRUE(lock.locked());
  }
  EXPECT_FALSE(lock.locked());
  {
    std::lock_guard guard(lock);
    EXPECT_TRUE(lock.locked());
  }
  mp::Lock other;
  {
    std::scoped_lock both(lock, other);
    EXPECT_TRUE(lock.locked());
    EXPECT_TRUE(other.locked());
  }
  EXPECT_FALSE(lock.locked());
  EXPECT_FALSE(other.locked());
  std::unique_lock timed(lock, std::defer_lock);
  EXPECT_TRUE(timed.try_lock_for(1s));
}

TEST(Lock, LK05_AnotherProcessMayReleaseALock) {
  mp::Lock lock;
  lock.acquire();
  mp::Process p(release_other, lock);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_FALSE(lock.locked());
  EXPECT_THROW(lock.release(), mp::ValueError);
}

TEST(Lock, LK05_AnotherThreadMayReleaseALock) {
  mp::Lock lock;
  lock.acquire();
  std::thread([&] { lock.release(); }).join();
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, BlockedProcessWakesOnRelease) {
  mp::Lock lock;
  mp::Value<int> stage(0);
  lock.acquire();
  mp::Process p(try_then_wait, lock, stage);
  p.start();
  ASSERT_TRUE(lithops::test::eventually_equals(stage, 1));
  ASSERT_TRUE(lithops::test::wait_for_blocked_clients(1)) << "the child never blocked";
  EXPECT_EQ(stage.value(), 1);  // still blocked
  lock.release();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(stage.value(), 2);
}

TEST(Lock, MutualExclusionEightProcessesThousandIncrements) {
  mp::Lock lock;
  mp::Value<int> counter(0);
  std::vector<mp::Process> procs;
  for (int i = 0; i < 8; ++i) procs.emplace_back(increment_locked, lock, counter, 1000);
  lithops::test::run_all(procs);
  EXPECT_EQ(counter.value(), 8000);
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, ValueGetLockEightProcesses) {
  mp::Value<int> counter(0);
  std::vector<mp::Process> procs;
  for (int i = 0; i < 8; ++i) procs.emplace_back(increment_with_value_lock, counter, 250);
  lithops::test::run_all(procs);
  EXPECT_EQ(counter.value(), 2000);
}

TEST(Lock, AtomicIncrementEightProcessesNoLock) {
  mp::Value<int> counter(0, mp::no_lock);
  std::vector<mp::Process> procs;
  for (int i = 0; i < 8; ++i) procs.emplace_back(increment_atomic, counter, 1000);
  lithops::test::run_all(procs);
  EXPECT_EQ(counter.value(), 8000);
}

TEST(Lock, ThreadsOfOneProcessExcludeEachOther) {
  mp::Lock lock;
  mp::Value<int> counter(0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        std::lock_guard guard(lock);
        counter.set(counter.value() + 1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.value(), 200);
}

// RL-01: RLock: three acquires by the owner succeed; locked until the third release; one more errs.
TEST(RLock, RL01_RLock) {
  mp::RLock lock;
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.acquire());
  EXPECT_EQ(lock.count(), 3);
  EXPECT_TRUE(lock.locked());
  lock.release();
  EXPECT_TRUE(lock.locked());
  lock.release();
  EXPECT_TRUE(lock.locked());
  EXPECT_EQ(lock.count(), 1);
  lock.release();
  EXPECT_FALSE(lock.locked());
  EXPECT_EQ(lock.count(), 0);
  EXPECT_THROW(lock.release(), mp::ValueError);
}

TEST(RLock, RL02_LockedSeenAcrossProcesses) {
  mp::RLock lock;
  mp::Value<int> seen(0);
  mp::Process p(racquire_and_leave, lock, seen);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(seen.value(), 2);  // the child's re-entry count
  EXPECT_TRUE(lock.locked());
  EXPECT_FALSE(lock.acquire(false));
  EXPECT_EQ(lock.count(), 0);
  EXPECT_THROW(lock.release(), mp::ValueError);  // RL-05: not ours
}

TEST(RLock, RL03_RLockContext) {
  mp::RLock lock;
  {
    std::unique_lock outer(lock);
    EXPECT_TRUE(outer.owns_lock());
    std::lock_guard inner(lock);
    EXPECT_EQ(lock.count(), 2);
  }
  EXPECT_FALSE(lock.locked());
}

TEST(RLock, RL05_ReleaseByNonOwnerRaises) {
  mp::RLock lock;
  lock.acquire();
  std::thread([&] {
    EXPECT_FALSE(lock.acquire(false));  // another thread of this process is another owner
    EXPECT_THROW(lock.release(), mp::ValueError);
  }).join();
  mp::Process p(release_other_rlock, lock);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_TRUE(lock.locked());
  lock.release();
  EXPECT_FALSE(lock.locked());
}

TEST(RLock, HandleRejectsAnotherKind) {
  mp::Lock lock;
  auto jv = boost::json::value_from(lock);
  EXPECT_THROW(boost::json::value_to<mp::RLock>(jv), mp::TypeError);
  auto back = boost::json::value_to<mp::Lock>(jv);
  back.acquire();
  EXPECT_TRUE(lock.locked());
  lock.release();
}

TEST(Lock, HandlesSurvivePassingThroughAQueue) {
  mp::Lock lock;
  mp::Value<int> v(1);
  mp::Queue<mp::Lock> locks;
  mp::Queue<mp::Value<int>> values;
  mp::Process p(use_handles_from_queue, locks, values);
  p.start();
  lock.acquire();
  locks.put(lock);
  values.put(v);
  // Both handles are in: the only thing the child can block on now is our lock.
  ASSERT_TRUE(lithops::test::wait_for_blocked_clients(1)) << "the child never blocked";
  EXPECT_EQ(v.value(), 1);  // the child waits for our lock
  lock.release();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(v.value(), 42);
}
