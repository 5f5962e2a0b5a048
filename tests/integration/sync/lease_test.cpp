// The lock lease policy (lock.hpp): a holder that dies does not deadlock everyone; a live holder
// keeps its lock however long it holds it.
#include <gtest/gtest.h>

#include <thread>

#include <lithops/multiprocessing.hpp>

#include "sync_test_util.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;
using lithops::test::eventually_equals;
using lithops::test::Stopwatch;

namespace {
void lease_hold_forever(mp::Lock lock, mp::Value<int> stage) {
  lock.acquire();
  stage.set(1);
  std::this_thread::sleep_for(1h);
}
void lease_rhold_forever(mp::RLock lock, mp::Value<int> stage) {
  lock.acquire();
  lock.acquire();
  stage.set(1);
  std::this_thread::sleep_for(1h);
}
void lease_hold_for(mp::Lock lock, mp::Value<int> stage, int ms) {
  lock.acquire();
  stage.set(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  lock.release();
}
void lease_acquire_and_exit(mp::Lock lock) { lock.acquire(); }
}  // namespace

LITHOPS_FUNCTION(lease_hold_forever);
LITHOPS_FUNCTION(lease_rhold_forever);
LITHOPS_FUNCTION(lease_hold_for);
LITHOPS_FUNCTION(lease_acquire_and_exit);

TEST(LockLease, SigkilledHolderReleasesAfterLease) {
  mp::Lock lock(mp::LockOptions{.lease = 2s});
  mp::Value<int> stage(0);
  mp::Process p(lease_hold_forever, lock, stage);
  p.start();
  ASSERT_TRUE(eventually_equals(stage, 1));
  EXPECT_FALSE(lock.acquire(false));

  // A waiter already blocked when the holder dies gets the lock too.
  bool waiter_got = false;
  double waiter_took = 0;
  Stopwatch since_waiter;
  std::thread waiter([&] {
    waiter_got = lock.acquire(30s);
    waiter_took = since_waiter.seconds();
  });
  EXPECT_TRUE(lithops::test::wait_for_blocked_clients(1)) << "the waiter never blocked";
  const double waited_before_kill = since_waiter.seconds();
  Stopwatch since_kill;
  p.kill();
  p.join();
  EXPECT_EQ(p.exitcode(), -9);
  waiter.join();
  EXPECT_TRUE(waiter_got);
  EXPECT_LE(since_kill.seconds(),
            2.0 + 1.0 + lithops::test::late_slack());  // lease + a slice + slack
  EXPECT_GE(waiter_took, waited_before_kill);          // it got the lock only after the holder died
  lock.release();
  EXPECT_FALSE(lock.locked());
}

TEST(LockLease, SigkilledRLockHolderReleasesAfterLease) {
  mp::RLock lock(mp::LockOptions{.lease = 1s});
  mp::Value<int> stage(0);
  mp::Process p(lease_rhold_forever, lock, stage);
  p.start();
  ASSERT_TRUE(eventually_equals(stage, 1));
  p.kill();
  p.join();
  Stopwatch sw;
  EXPECT_TRUE(lock.acquire(30s));
  EXPECT_LE(sw.seconds(), 1.0 + 1.0 + lithops::test::late_slack());
  EXPECT_EQ(lock.count(), 1);  // a fresh hold, not the dead owner's level
  lock.release();
}

TEST(LockLease, LiveHolderKeepsTheLockBeyondTheLease) {
  mp::Lock lock(mp::LockOptions{.lease = 600ms});
  mp::Value<int> stage(0);
  mp::Process p(lease_hold_for, lock, stage, 3000);
  p.start();
  ASSERT_TRUE(eventually_equals(stage, 1));
  // Five leases long: only the holder's renewer keeps the record alive.
  Stopwatch sw;
  while (sw.seconds() < 2.0) {
    EXPECT_TRUE(lock.locked());
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(lock.acquire(30s));
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  lock.release();
}

TEST(LockLease, HolderThatExitsWithoutReleasingFreesItAfterTheLease) {
  // A localhost worker stays warm after its invocation returns; it drops the leases its target
  // left held (worker.cpp), so the lock frees a lease later, as if that process had died.
  mp::Lock lock(mp::LockOptions{.lease = 1s});
  mp::Process p(lease_acquire_and_exit, lock);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_TRUE(lock.locked());  // LK-02: still held right after the child ended
  Stopwatch sw;
  EXPECT_TRUE(lock.acquire(30s));
  EXPECT_LE(sw.seconds(), 1.0 + 1.0 + lithops::test::late_slack());
  lock.release();
}

TEST(LockLease, TooShortLeaseIsRejected) {
  EXPECT_THROW(mp::Lock(mp::LockOptions{.lease = 10ms}), mp::ValueError);
}
