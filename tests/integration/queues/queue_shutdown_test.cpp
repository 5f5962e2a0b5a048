// Queue.shutdown (CPython main's queue.ShutDown): QU-11..QU-14, across processes where the
// catalogue says so, and the prompt wake-up of gets and puts blocked in other processes.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include <lithops/multiprocessing.hpp>

#include "test_util.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;
using lithops::test::Stopwatch;

namespace {
// "1" for every one of put, put_nowait, get, get_nowait that raises ShutDown, else "0".
template <class Q>
std::string shutdown_ops(Q& q) {
  std::string out;
  const auto raises = [&](auto&& op) {
    try {
      op();
    } catch (const mp::ShutDown&) {
      out += '1';
      return;
    } catch (const std::exception&) {
    }
    out += '0';
  };
  raises([&] { q.put(1); });
  raises([&] { q.put_nowait(1); });
  raises([&] { q.get(); });
  raises([&] { q.get_nowait(); });
  return out;
}

void report_ops(mp::JoinableQueue<int> q, mp::Queue<std::string> out) { out.put(shutdown_ops(q)); }
void report_plain_ops(mp::Queue<int> q, mp::Queue<std::string> out) { out.put(shutdown_ops(q)); }

void join_then_set(mp::JoinableQueue<int> q, mp::Event started, mp::Event done) {
  started.set();
  q.join();
  done.set();
}

// Blocks in get() (no timeout) and reports how it ended.
void blocked_get(mp::Queue<int> q, mp::Event started, mp::Queue<std::string> out) {
  started.set();
  try {
    out.put("item " + std::to_string(q.get()));
  } catch (const mp::ShutDown&) {
    out.put("ShutDown");
  }
}

// Blocks in put() of a full queue (no timeout) and reports how it ended.
void blocked_put(mp::Queue<int> q, mp::Event started, mp::Queue<std::string> out) {
  started.set();
  try {
    q.put(2);
    out.put("put");
  } catch (const mp::ShutDown&) {
    out.put("ShutDown");
  }
}
// Takes four items (so that three more wait in its prefetch buffer), reports them, shuts the queue
// down and ends: the buffered items go back to the queue after the shutdown.
void take_four_then_shut_down(mp::Queue<int> q, mp::Queue<std::string> out) {
  std::string got;
  for (int i = 0; i < 4; ++i) got += std::to_string(q.get(10s));
  out.put(got);
  q.shutdown();
}
}  // namespace

LITHOPS_FUNCTION(take_four_then_shut_down);
LITHOPS_FUNCTION(report_ops);
LITHOPS_FUNCTION(report_plain_ops);
LITHOPS_FUNCTION(join_then_set);
LITHOPS_FUNCTION(blocked_get);
LITHOPS_FUNCTION(blocked_put);

// QU-11: shutdown() of an empty queue: qsize 0, join() in another process returns, put/get raise
// ShutDown.
TEST(Queue, QU11_ShutdownEmpty) {
  mp::JoinableQueue<int> q;
  mp::Event started, done;
  mp::Process joiner(join_then_set, q, started, done);
  joiner.start();
  ASSERT_TRUE(started.wait(30s));
  q.shutdown();
  EXPECT_EQ(q.qsize(), 0);
  EXPECT_TRUE(done.wait(10s)) << "join() in another process must return";
  EXPECT_EQ(shutdown_ops(q), "1111");
  mp::Queue<std::string> out;
  mp::Process other(report_ops, q, out);
  other.start();
  EXPECT_EQ(out.get(30s), "1111") << "put, put_nowait, get, get_nowait from another process";
  for (auto* p : {&joiner, &other}) {
    p->join();
    EXPECT_EQ(p->exitcode(), 0);
  }
  // Shutting down twice is harmless.
  q.shutdown();
  q.shutdown(true);
  EXPECT_THROW(q.get(), mp::ShutDown);
}

// QU-11: shutdown() of an empty queue: qsize 0, join() in another process returns, put/get raise
// ShutDown.
TEST(Queue, QU11_ShutdownOfAnUnboundedQueueInAnotherProcess) {
  mp::JoinableQueue<int> q;
  mp::Queue<std::string> out;
  q.shutdown();
  mp::Process other(report_ops, q, out);
  other.start();
  EXPECT_EQ(out.get(30s), "1111");
  other.join();
  // A plain unbounded Queue batches its puts: the put still raises ShutDown.
  mp::Queue<int> plain;
  plain.shutdown();
  EXPECT_THROW(plain.put(1), mp::ShutDown);
  EXPECT_THROW(plain.put_nowait(1), mp::ShutDown);
  EXPECT_THROW(plain.get(), mp::ShutDown);
  EXPECT_THROW(plain.get_nowait(), mp::ShutDown);
}

// A plain (unbounded) Queue shut down by another process: its puts raise there and leave nothing.
TEST(Queue, QU11_PlainQueueShutDownElsewhereRejectsPutsAndKeepsNoItem) {
  mp::Queue<int> q;
  mp::Queue<std::string> out;
  q.shutdown();
  mp::Process other(report_plain_ops, q, out);
  other.start();
  EXPECT_EQ(out.get(30s), "1111");
  other.join();
  EXPECT_EQ(other.exitcode(), 0);
  EXPECT_EQ(q.qsize(), 0) << "the rejected puts left nothing behind";
}

// QU-12: shutdown() of Queue(1) holding an item: the item can still be got, then get raises
// ShutDown.
TEST(Queue, QU12_ShutdownNonempty) {
  mp::JoinableQueue<int> q(1);
  q.put(7);
  q.shutdown();
  EXPECT_EQ(q.qsize(), 1);
  EXPECT_FALSE(q.join(300ms)) << "join() waits for the unfinished item";
  EXPECT_EQ(q.get(), 7) << "items left are still served";
  EXPECT_FALSE(q.join(0s));
  q.task_done();
  EXPECT_TRUE(q.join(0s));
  EXPECT_EQ(shutdown_ops(q), "1111");
}

// QU-12: shutdown() of Queue(1) holding an item: the item can still be got, then get raises
// ShutDown.
TEST(Queue, QU12_ItemsLeftAreServedToAnotherProcess) {
  mp::Queue<int> q;
  q.put(1);
  q.put(2);
  q.shutdown();
  EXPECT_EQ(q.get(5s), 1);
  mp::Event started;
  mp::Queue<std::string> out;
  mp::Process child(blocked_get, q, started, out);
  child.start();
  EXPECT_EQ(out.get(30s), "item 2");
  child.join();
  EXPECT_THROW(q.get(5s), mp::ShutDown);
  EXPECT_THROW(q.get_nowait(), mp::ShutDown);
}

// A shut-down queue's items key is a string (queue_internal.hpp): items a process had prefetched
// and gives back after the shutdown must join the items left, in order, not be lost.
TEST(Queue, PrefetchedItemsGivenBackAfterAShutdownAreStillServed) {
  mp::Queue<int> q;
  for (int i = 0; i < 10; ++i) q.put(i);
  mp::Queue<std::string> out;
  mp::Process child(take_four_then_shut_down, q, out);
  child.start();
  EXPECT_EQ(out.get(30s), "0123");
  child.join();
  ASSERT_EQ(child.exitcode(), 0);
  EXPECT_EQ(q.qsize(), 6);
  for (int i = 4; i < 10; ++i) EXPECT_EQ(q.get(5s), i);
  EXPECT_THROW(q.get(5s), mp::ShutDown);
  EXPECT_THROW(q.put(1), mp::ShutDown);
  EXPECT_EQ(q.qsize(), 0);
}

// QU-13: shutdown(immediate=True) discards the items, releases join(), put/get raise ShutDown.
TEST(Queue, QU13_ShutdownImmediate) {
  mp::JoinableQueue<int> q;
  for (int i = 0; i < 3; ++i) q.put(i);
  mp::Event started, done;
  mp::Process joiner(join_then_set, q, started, done);
  joiner.start();
  ASSERT_TRUE(started.wait(30s));
  EXPECT_FALSE(done.wait(200ms));
  q.shutdown(true);
  EXPECT_EQ(q.qsize(), 0);
  EXPECT_TRUE(done.wait(10s)) << "an immediate shutdown releases join()";
  EXPECT_TRUE(q.join(0s));
  EXPECT_EQ(shutdown_ops(q), "1111");
  EXPECT_THROW(q.task_done(), mp::ValueError);
  joiner.join();
  EXPECT_EQ(joiner.exitcode(), 0);
}

TEST(Queue, QU14_ShutdownImmediateWithUnfinished) {
  mp::JoinableQueue<int> q;
  q.put(1);
  q.put(2);
  EXPECT_EQ(q.get(), 1);
  mp::Event started, done;
  mp::Process joiner(join_then_set, q, started, done);
  joiner.start();
  ASSERT_TRUE(started.wait(30s));
  q.shutdown(true);
  EXPECT_EQ(q.qsize(), 0);
  EXPECT_FALSE(done.wait(300ms)) << "the item taken but not done keeps join() blocked";
  EXPECT_FALSE(q.join(0s));
  q.task_done();
  EXPECT_TRUE(done.wait(10s));
  EXPECT_TRUE(q.join(0s));
  EXPECT_THROW(q.task_done(), mp::ValueError);
  joiner.join();
  EXPECT_EQ(joiner.exitcode(), 0);
}

TEST(Queue, ShutdownWakesGettersBlockedInOtherProcesses) {
  mp::Queue<int> unbounded;
  mp::Queue<int> bounded(2);
  mp::Queue<std::string> out;
  mp::Event s1, s2;
  mp::Process g1(blocked_get, unbounded, s1, out);
  mp::Process g2(blocked_get, bounded, s2, out);
  g1.start();
  g2.start();
  ASSERT_TRUE(s1.wait(30s));
  ASSERT_TRUE(s2.wait(30s));
  ASSERT_TRUE(lithops::test::wait_for_blocked_clients(2)) << "the getters never blocked";
  Stopwatch sw;
  unbounded.shutdown();
  bounded.shutdown(true);
  EXPECT_EQ(out.get(10s), "ShutDown");
  EXPECT_EQ(out.get(10s), "ShutDown");
  EXPECT_LT(sw.seconds(), lithops::test::late_slack()) << "blocked gets wake promptly";
  g1.join();
  g2.join();
  EXPECT_EQ(g1.exitcode(), 0);
  EXPECT_EQ(g2.exitcode(), 0);
}

TEST(Queue, ShutdownWakesPutsBlockedInAnotherProcess) {
  mp::Queue<int> q(1);
  q.put(1);
  mp::Queue<std::string> out;
  mp::Event started;
  mp::Process producer(blocked_put, q, started, out);
  producer.start();
  ASSERT_TRUE(started.wait(30s));
  ASSERT_TRUE(lithops::test::wait_for_blocked_clients(1)) << "the put never blocked";
  Stopwatch sw;
  q.shutdown();
  EXPECT_EQ(out.get(10s), "ShutDown");
  EXPECT_LT(sw.seconds(), lithops::test::late_slack()) << "the blocked put wakes promptly";
  EXPECT_EQ(q.get(), 1) << "a non-immediate shutdown keeps the item";
  producer.join();
  EXPECT_EQ(producer.exitcode(), 0);
}
