// Semaphore and BoundedSemaphore (conformance section 4).
// SE-04 (TestSyncManagerTypes) is manager-only; its meaning, a semaphore acquired in one process
// and released in another, is covered by SE04_ReleasedByAnotherProcess below.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <lithops/multiprocessing.hpp>

#include "sync_test_util.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;
using lithops::test::Stopwatch;

namespace {
void sem_release_after(mp::Semaphore sem, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  sem.release();
}
void sem_acquire_in_child(mp::BoundedSemaphore sem) {
  if (!sem.acquire(10s)) throw std::runtime_error("could not acquire");
}
// At most `limit` holders at once: `inside` counts the holders, `peak` records the maximum seen.
void sem_bounded_section(mp::Semaphore sem, mp::Value<int> inside, mp::Value<int> peak) {
  for (int i = 0; i < 20; ++i) {
    std::lock_guard guard(sem);
    const int now = (inside += 1);
    if (now > peak.value()) peak.set(now);  // racy max, but any overshoot would still show
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    inside -= 1;
  }
}
}  // namespace

LITHOPS_FUNCTION(sem_release_after);
LITHOPS_FUNCTION(sem_acquire_in_child);
LITHOPS_FUNCTION(sem_bounded_section);

// SE-01: Semaphore(2): value 2, 1, 0 across acquires; acquire(False) at 0 fails; unbounded
// releases.
TEST(Semaphore, SE01_Semaphore) {
  mp::Semaphore sem(2);
  EXPECT_EQ(sem.get_value(), 2);
  EXPECT_TRUE(sem.acquire());
  EXPECT_EQ(sem.get_value(), 1);
  EXPECT_TRUE(sem.acquire());
  EXPECT_EQ(sem.get_value(), 0);
  EXPECT_FALSE(sem.acquire(false));
  EXPECT_EQ(sem.get_value(), 0);
  sem.release();
  EXPECT_EQ(sem.get_value(), 1);
  sem.release();
  EXPECT_EQ(sem.get_value(), 2);
  sem.release();  // unbounded
  EXPECT_EQ(sem.get_value(), 3);
  sem.release();
  EXPECT_EQ(sem.get_value(), 4);
}

// SE-02: BoundedSemaphore(2) follows the same 2, 1, 0, 1, 2 sequence.
TEST(Semaphore, SE02_BoundedSemaphore) {
  mp::BoundedSemaphore sem(2);
  EXPECT_EQ(sem.get_value(), 2);
  EXPECT_TRUE(sem.acquire());
  EXPECT_EQ(sem.get_value(), 1);
  EXPECT_TRUE(sem.acquire());
  EXPECT_EQ(sem.get_value(), 0);
  EXPECT_FALSE(sem.acquire(false));
  sem.release();
  EXPECT_EQ(sem.get_value(), 1);
  sem.release();
  EXPECT_EQ(sem.get_value(), 2);
}

// SE-02: BoundedSemaphore(2) follows the same 2, 1, 0, 1, 2 sequence.
TEST(Semaphore, SE02_BoundedOverReleaseRaises) {
  mp::BoundedSemaphore fresh(3);
  EXPECT_THROW(fresh.release(), mp::ValueError);  // lock_tests: release of a fresh one
  EXPECT_EQ(fresh.get_value(), 3);
  mp::BoundedSemaphore sem(1);
  sem.acquire();
  sem.release();
  EXPECT_THROW(sem.release(), mp::ValueError);
  EXPECT_EQ(sem.get_value(), 1);
}

// SE-02: BoundedSemaphore(2) follows the same 2, 1, 0, 1, 2 sequence.
TEST(Semaphore, SE02_BoundedOverReleaseAcrossProcesses) {
  mp::BoundedSemaphore sem(1);
  mp::Process p(sem_acquire_in_child, sem);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(sem.get_value(), 0);
  sem.release();  // the parent gives back the child's unit
  EXPECT_THROW(sem.release(), mp::ValueError);
}

// SE-03: Semaphore(0): non-blocking acquires fail at once, timed ones after about their timeout.
TEST(Semaphore, SE03_Timeout) {
  mp::Semaphore sem(0);
  Stopwatch sw;
  EXPECT_FALSE(sem.acquire(false));
  EXPECT_FALSE(sem.acquire(false, 0.1s));  // the timeout is ignored when non-blocking
  EXPECT_FALSE(sem.try_acquire());
  EXPECT_QUICK(sw.seconds());
  Stopwatch t2;
  EXPECT_FALSE(sem.acquire(true, 0.35s));
  EXPECT_TOOK_ABOUT(t2.seconds(), 0.35);
  Stopwatch t3;
  EXPECT_FALSE(sem.acquire(0.82s));
  EXPECT_TOOK_ABOUT(t3.seconds(), 0.82);
}

TEST(Semaphore, SE04_ReleasedByAnotherProcess) {
  mp::Semaphore sem(0);
  mp::Process p(sem_release_after, sem, 300);
  p.start();
  Stopwatch sw;
  EXPECT_TRUE(sem.acquire(30s));
  EXPECT_GE(sw.seconds(), 0.2);
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(sem.get_value(), 0);
}

TEST(Semaphore, SE05_UnboundedReleaseGrows) {
  mp::Semaphore sem(0);
  for (int i = 0; i < 5; ++i) sem.release();
  EXPECT_EQ(sem.get_value(), 5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(sem.acquire(false));
  EXPECT_FALSE(sem.acquire(false));
}

TEST(Semaphore, LimitsConcurrentHoldersAcrossProcesses) {
  mp::Semaphore sem(2);
  mp::Value<int> inside(0), peak(0);
  std::vector<mp::Process> procs;
  for (int i = 0; i < 4; ++i) procs.emplace_back(sem_bounded_section, sem, inside, peak);
  lithops::test::run_all(procs);
  EXPECT_LE(peak.value(), 2);
  EXPECT_GE(peak.value(), 1);
  EXPECT_EQ(inside.value(), 0);
  EXPECT_EQ(sem.get_value(), 2);
}

TEST(Semaphore, ManyThreadsWaitingAllWake) {
  mp::Semaphore sem(0);
  std::atomic<int> got{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (sem.acquire(20s)) ++got;
    });
  }
  const bool blocked = lithops::test::wait_for_blocked_clients(4);
  for (int i = 0; i < 4; ++i) sem.release();
  for (auto& t : threads) t.join();
  EXPECT_TRUE(blocked) << "the acquiring threads never blocked in the server";
  EXPECT_EQ(got.load(), 4);
  EXPECT_EQ(sem.get_value(), 0);
}
