// LK-04 and RL-04: Lock and RLock reprs name the holder (the owner record stores its process
// name, plus "|T<n>" off the main thread), across threads and processes.
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <thread>

#include <lithops/multiprocessing.hpp>

#include "sync_test_util.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;

namespace {
// Takes the lock, reports its repr as seen from inside, holds it until `go`, releases.
void hold_lock(mp::Lock lock, mp::Queue<std::string> out, mp::Event go) {
  lock.acquire();
  out.put(lock.repr());
  go.wait(60s);
  lock.release();
}
void hold_rlock(mp::RLock lock, mp::Queue<std::string> out, mp::Event go) {
  lock.acquire();
  out.put(lock.repr());
  go.wait(60s);
  lock.release();
}
}  // namespace

LITHOPS_FUNCTION(hold_lock);
LITHOPS_FUNCTION(hold_rlock);

// LK-04: Lock repr shows its owner: None, MainProcess, MainProcess|T<n>, another thread or process.
TEST(Lock, LK04_Repr) {
  mp::Lock lock;
  EXPECT_EQ(lock.repr(), "<Lock(owner=None)>");
  lock.acquire();
  EXPECT_EQ(lock.repr(), "<Lock(owner=MainProcess)>");
  lock.release();

  // Another thread of this process: its own name from inside, SomeOtherThread from here.
  std::string inside;
  std::thread t([&] {
    lock.acquire();
    inside = lock.repr();
  });
  t.join();
  EXPECT_EQ(inside.rfind("<Lock(owner=MainProcess|T", 0), 0u) << inside;
  EXPECT_EQ(lock.repr(), "<Lock(owner=SomeOtherThread)>");
  lock.release();

  // Another process: its name, from inside and from here.
  mp::Queue<std::string> out;
  mp::Event go;
  mp::Process child(hold_lock, lock, out, go);
  child.set_name("P1");
  child.start();
  const std::string from_child = out.get(30s);
  EXPECT_EQ(from_child.rfind("<Lock(owner=P1", 0), 0u) << from_child;
  EXPECT_EQ(lock.repr(), from_child);
  go.set();
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_EQ(lock.repr(), "<Lock(owner=None)>");
}

// RL-04: RLock repr shows owner and recursion count.
TEST(RLock, RL04_Repr) {
  mp::RLock lock;
  EXPECT_EQ(lock.repr(), "<RLock(None, 0)>");
  for (int i = 0; i < 3; ++i) lock.acquire();
  EXPECT_EQ(lock.repr(), "<RLock(MainProcess, 3)>");
  for (int i = 0; i < 3; ++i) lock.release();

  std::string inside;
  std::promise<void> held, checked;
  std::thread t([&] {
    lock.acquire();
    lock.acquire();
    inside = lock.repr();
    held.set_value();
    checked.get_future().wait();
    lock.release();
    lock.release();
  });
  held.get_future().wait();
  EXPECT_EQ(inside.rfind("<RLock(MainProcess|T", 0), 0u) << inside;
  EXPECT_EQ(inside.substr(inside.size() - 5), ", 2)>") << inside;
  EXPECT_EQ(lock.repr(), "<RLock(SomeOtherThread, 2)>");
  checked.set_value();
  t.join();

  mp::Queue<std::string> out;
  mp::Event go;
  mp::Process child(hold_rlock, lock, out, go);
  child.set_name("P1");
  child.start();
  const std::string from_child = out.get(30s);
  EXPECT_EQ(from_child.rfind("<RLock(P1", 0), 0u) << from_child;
  EXPECT_EQ(from_child.substr(from_child.size() - 5), ", 1)>") << from_child;
  EXPECT_EQ(lock.repr(), from_child);
  go.set();
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_EQ(lock.repr(), "<RLock(None, 0)>");
}

// A blocking acquirer marks the holder's record while it waits (so the release wakes it): the
// repr, a Condition's ownership check and the release must all see through that mark.
TEST(Lock, ReprAndOwnershipWithAWaiter) {
  mp::Lock lock;
  mp::Condition cond(lock);
  lock.acquire();
  bool taken = false;
  bool inside_wait = true;
  std::string inside;
  std::thread t([&] {
    taken = lock.acquire(true, 60s);
    inside = lock.repr();
    inside_wait = cond.wait(0.05s);
    lock.release();
  });
  // The thread waits (blocked in the server): the record is marked.
  EXPECT_TRUE(lithops::test::wait_for_blocked_clients(1)) << "the acquiring thread never blocked";
  EXPECT_EQ(lock.repr(), "<Lock(owner=MainProcess)>");
  EXPECT_FALSE(cond.wait(0.05s));  // hands the lock to the thread, then takes it back
  EXPECT_EQ(lock.repr(), "<Lock(owner=MainProcess)>");
  lock.release();
  t.join();
  EXPECT_TRUE(taken);
  EXPECT_EQ(inside.rfind("<Lock(owner=MainProcess|T", 0), 0u) << inside;
  EXPECT_FALSE(inside_wait);
  EXPECT_FALSE(lock.locked());
  EXPECT_THROW(lock.release(), mp::ValueError);
}
