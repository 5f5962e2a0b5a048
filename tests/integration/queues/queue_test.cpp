// Conformance section 2 (Queue, JoinableQueue, SimpleQueue): CPython's _TestQueue and
// TestSimpleQueue cases, named by their IDs. Children are real processes of the localhost executor.
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

#include <lithops/multiprocessing.hpp>

#include "test_util.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;
using lithops::test::Stopwatch;

namespace {
constexpr auto T1 = 200ms;  // CPython's TIMEOUT1..3 with CHECK_TIMINGS, shortened
constexpr auto T2 = 100ms;
constexpr auto T3 = 300ms;
constexpr double secs(std::chrono::milliseconds t) { return static_cast<double>(t.count()) / 1e3; }

void drain_six(mp::Queue<int> q) {
  for (int i = 0; i < 6; ++i) q.get();
}
void put_2345(mp::Queue<int> q) {
  for (int i = 2; i <= 5; ++i) q.put(i);
}
void put_10_to_19(mp::Queue<int> q) {
  for (int i = 10; i < 20; ++i) q.put(i);
}
void put_own_empty_readings(mp::SimpleQueue<bool> q, mp::Event can_start, mp::Event done) {
  can_start.wait();
  q.put(q.empty());
  q.put(q.empty());
  done.set();
}

// An item whose serialisation fails when `poison` is set (CPython: an unpicklable object).
struct Item {
  int value = 0;
  bool poison = false;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Item& item) {
  if (item.poison) throw std::runtime_error("cannot serialise a poisoned item");
  jv = item.value;
}
Item tag_invoke(boost::json::value_to_tag<Item>, const boost::json::value& jv) {
  return Item{static_cast<int>(jv.as_int64()), false};
}
}  // namespace

// Puts `n` into a SimpleQueue (SQ-04: another process's ends are its own).
void simple_put(mp::SimpleQueue<int> q, int n) { q.put(n); }
LITHOPS_FUNCTION(simple_put);
LITHOPS_FUNCTION(drain_six);
LITHOPS_FUNCTION(put_2345);
LITHOPS_FUNCTION(put_10_to_19);
LITHOPS_FUNCTION(put_own_empty_readings);

// QU-01: Queue(maxsize=6): every put form fills it, then put raises Full at once or after its
// timeout.
TEST(Queue, QU01_Put) {
  mp::Queue<int> q(6);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  q.put(1);
  q.put(2, true);
  q.put(3, true, 1h);  // Python's put(x, True, None) waits forever: any long timeout here
  q.put(4, false);
  q.put(5, false, 1h);
  q.put_nowait(6);
  EXPECT_EQ(q.qsize(), 6);
  EXPECT_TRUE(q.full());
  EXPECT_FALSE(q.empty());

  Stopwatch s1;
  EXPECT_THROW(q.put(7, false), mp::Full);
  EXPECT_THROW(q.put(7, false, 1h), mp::Full);
  EXPECT_THROW(q.put_nowait(7), mp::Full);
  EXPECT_QUICK(s1.seconds());

  Stopwatch s2;
  EXPECT_THROW(q.put(7, true, T1), mp::Full);
  EXPECT_TOOK_ABOUT(s2.seconds(), secs(T1));

  Stopwatch s3;
  EXPECT_THROW(q.put(7, false, T2), mp::Full);  // block=false ignores the timeout
  EXPECT_QUICK(s3.seconds());

  Stopwatch s4;
  EXPECT_THROW(q.put(7, T3), mp::Full);
  EXPECT_TOOK_ABOUT(s4.seconds(), secs(T3));

  mp::Process child(drain_six, q);
  child.start();
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
}

// QU-02: every get form returns items FIFO; on an empty queue get raises Empty at once or after
// timeout.
TEST(Queue, QU02_Get) {
  mp::Queue<int> q;
  mp::Process child(put_2345, q);
  child.start();
  EXPECT_EQ(q.get(true), 2);  // get(True, None)
  EXPECT_EQ(q.get(), 3);      // get(True)
  EXPECT_EQ(q.get(1s), 4);    // get(timeout=1)
  child.join();
  EXPECT_EQ(q.get_nowait(), 5);
  EXPECT_TRUE(q.empty());

  Stopwatch s1;
  EXPECT_THROW(q.get(false), mp::Empty);
  EXPECT_THROW(q.get(false, 1h), mp::Empty);
  EXPECT_THROW(q.get_nowait(), mp::Empty);
  EXPECT_QUICK(s1.seconds());

  Stopwatch s2;
  EXPECT_THROW(q.get(true, T1), mp::Empty);
  EXPECT_TOOK_ABOUT(s2.seconds(), secs(T1));

  Stopwatch s3;
  EXPECT_THROW(q.get(false, T2), mp::Empty);
  EXPECT_QUICK(s3.seconds());

  Stopwatch s4;
  EXPECT_THROW(q.get(T3), mp::Empty);
  EXPECT_TOOK_ABOUT(s4.seconds(), secs(T3));
}

// QU-03: items put by the parent, then by a child, arrive in order; then get(False) raises Empty.
TEST(Queue, QU03_Fork) {
  mp::Queue<int> q;
  for (int i = 0; i < 10; ++i) q.put(i);
  mp::Process child(put_10_to_19, q);
  child.start();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(q.get(5s), i);
  child.join();
  EXPECT_THROW(q.get(false), mp::Empty);
}

// QU-04: qsize() goes 0, 1, 2, 1, 0 across puts and gets.
TEST(Queue, QU04_Qsize) {
  mp::Queue<int> q;
  EXPECT_EQ(q.qsize(), 0);
  q.put(1);
  EXPECT_EQ(q.qsize(), 1);
  q.put(5);
  EXPECT_EQ(q.qsize(), 2);
  q.get();
  EXPECT_EQ(q.qsize(), 1);
  q.get();
  EXPECT_EQ(q.qsize(), 0);
}

// QU-05 (task_done with 4 worker processes) is in queue_process_test.cpp.

// QU-06: get(True, 0.2) on an empty queue raises Empty after at least 0.1 s.
TEST(Queue, QU06_Timeout) {
  mp::Queue<int> q;
  Stopwatch s;
  EXPECT_THROW(q.get(true, 200ms), mp::Empty);
  EXPECT_GE(s.seconds(), 0.100);
}

TEST(Queue, QU07_FailedPutDoesNotPoisonTheQueue) {
  {
    mp::Queue<Item> q;
    EXPECT_THROW(q.put(Item{1, true}), std::runtime_error);
    q.put(Item{2, false});
    EXPECT_EQ(q.get(5s).value, 2);
  }
  {
    mp::Queue<Item> q(1);
    EXPECT_THROW(q.put(Item{1, true}), std::runtime_error);
    q.put(Item{2, false});  // the failed item took no slot
    EXPECT_EQ(q.qsize(), 1);
    EXPECT_EQ(q.get(5s).value, 2);
    EXPECT_TRUE(q.empty());
  }
}

TEST(Queue, QU08_SerialisationErrorsSurfaceAtPut) {
  // CPython reports them from its feeder thread through a hook; here put() itself throws, before
  // anything is queued, even while earlier puts are still being batched.
  mp::Queue<Item> q;
  for (int i = 0; i < 100; ++i) q.put(Item{i, false});
  EXPECT_THROW(q.put(Item{-1, true}), std::runtime_error);
  for (int i = 100; i < 200; ++i) q.put(Item{i, false});
  for (int i = 0; i < 200; ++i) ASSERT_EQ(q.get(5s).value, i);
  EXPECT_TRUE(q.empty());
}

TEST(Queue, QU09_ClosedQueueEmptyExceptions) {
  {
    mp::Queue<int> unused;
    unused.close();
    unused.join_thread();
    EXPECT_TRUE(unused.empty());
  }
  {
    mp::JoinableQueue<int> unused;
    unused.close();
    unused.join_thread();
    EXPECT_TRUE(unused.empty());
  }
  {
    mp::Queue<int> used;
    used.put(1);
    used.get();
    used.close();
    used.join_thread();
    try {
      used.empty();
      FAIL() << "empty() on a closed, used queue must raise";
    } catch (const mp::OSError& e) {
      EXPECT_NE(std::string(e.what()).find("is closed"), std::string::npos);
    }
  }
  {
    mp::JoinableQueue<int> used;
    used.put(1);
    used.get();
    used.task_done();
    used.close();
    used.join_thread();
    EXPECT_THROW(used.empty(), mp::OSError);
  }
}

TEST(Queue, QU10_ClosedQueuePutGetExceptions) {
  for (bool joinable : {false, true}) {
    mp::Queue<int> q = joinable ? mp::JoinableQueue<int>() : mp::Queue<int>();
    q.put(1);
    q.close();
    try {
      q.put(2);
      FAIL() << "put() after close() must raise";
    } catch (const mp::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("is closed"), std::string::npos);
    }
    EXPECT_THROW(q.get(), mp::ValueError);
    EXPECT_THROW(q.get_nowait(), mp::ValueError);
  }
}

// SQ-01: SimpleQueue.empty() seen by the parent and by a child, True then False.
TEST(SimpleQueue, SQ01_Empty) {
  mp::SimpleQueue<bool> q;
  mp::Event can_start, done;
  EXPECT_TRUE(q.empty());
  mp::Process child(put_own_empty_readings, q, can_start, done);
  child.start();
  can_start.set();
  ASSERT_TRUE(done.wait(30s));
  EXPECT_FALSE(q.empty());
  EXPECT_TRUE(q.get());
  EXPECT_FALSE(q.get());
  EXPECT_TRUE(q.empty());
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
}

// SQ-02: after close(), SimpleQueue.empty() raises OSError even if the queue was never used.
TEST(SimpleQueue, SQ02_EmptyExceptions) {
  mp::SimpleQueue<int> q;
  q.close();  // even never used
  try {
    q.empty();
    FAIL() << "empty() on a closed SimpleQueue must raise";
  } catch (const mp::OSError& e) {
    EXPECT_NE(std::string(e.what()).find("is closed"), std::string::npos);
  }
  EXPECT_THROW(q.put(1), mp::OSError);
  EXPECT_THROW(q.get(), mp::OSError);
}

// SQ-03: closing a SimpleQueue twice is fine.
TEST(SimpleQueue, SQ03_CloseTwice) {
  mp::SimpleQueue<int> q;
  q.put(1);
  q.close();
  EXPECT_NO_THROW(q.close());
}

// SQ-04 (adapted: there is no reader/writer pair to inspect): after close() both ends of this
// process report closed, through every handle of the queue here; a child's ends are its own.
TEST(SimpleQueue, SQ04_CloseClosesBothEndsOfThisProcess) {
  mp::SimpleQueue<int> q;
  mp::SimpleQueue<int> copy = q;
  q.close();
  for (auto* h : {&q, &copy}) {
    try {
      h->put(1);
      FAIL() << "put() after close() must raise";
    } catch (const mp::OSError& e) {
      EXPECT_NE(std::string(e.what()).find("is closed"), std::string::npos) << e.what();
    }
    try {
      h->get();
      FAIL() << "get() after close() must raise";
    } catch (const mp::OSError& e) {
      EXPECT_NE(std::string(e.what()).find("is closed"), std::string::npos) << e.what();
    }
  }
  mp::Process child(simple_put, q, 7);
  child.start();
  child.join();
  EXPECT_EQ(child.exitcode(), 0) << "the child's ends are open";
}

TEST(Queue, GetTimesOutWithEmpty) {
  mp::Queue<std::string> q;
  for (auto t : {100ms, 500ms, 1000ms}) {
    Stopwatch s;
    EXPECT_THROW(q.get(t), mp::Empty);
    EXPECT_TOOK_ABOUT(s.seconds(), secs(t));
  }
}

TEST(Queue, SingleProcessFifoAcrossBatchedPuts) {
  mp::Queue<std::string> q;
  for (int i = 0; i < 5000; ++i) q.put("item " + std::to_string(i));
  EXPECT_EQ(q.qsize(), 5000);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(q.get(5s), "item " + std::to_string(i));
  EXPECT_TRUE(q.empty());
}

TEST(Queue, GetOfAnotherTypeRaisesTypeError) {
  mp::Queue<std::string> q;
  q.put("not a number");
  auto as_int = tag_invoke(boost::json::value_to_tag<mp::Queue<int>>(), boost::json::value_from(q));
  EXPECT_THROW(as_int.get(5s), mp::TypeError);
  EXPECT_THROW(
      tag_invoke(boost::json::value_to_tag<mp::JoinableQueue<int>>(), boost::json::value_from(q)),
      mp::TypeError);
}

// Integers skip Boost.JSON in encode_item/decode_item; the text must stay the JSON number, so
// handles of other item types read them (and they read other producers' numbers) as before.
TEST(Queue, IntegerItemsAreJsonNumbersAtEveryWidth) {
  mp::Queue<long long> wide;
  wide.put(std::numeric_limits<long long>::min());
  wide.put(std::numeric_limits<long long>::max());
  wide.put(0);
  EXPECT_EQ(wide.get(5s), std::numeric_limits<long long>::min());
  EXPECT_EQ(wide.get(5s), std::numeric_limits<long long>::max());
  EXPECT_EQ(wide.get(5s), 0);

  mp::Queue<unsigned long long> big;
  big.put(std::numeric_limits<unsigned long long>::max());
  EXPECT_EQ(big.get(5s), std::numeric_limits<unsigned long long>::max());
  mp::Queue<short> small;
  small.put(-32768);
  EXPECT_EQ(small.get(5s), -32768);
  mp::Queue<char> chars;  // a character type goes through Boost.JSON, as a number
  chars.put('A');
  EXPECT_EQ(chars.get(5s), 'A');

  mp::Queue<int> ints;
  const auto as = [&]<class T>(std::type_identity<T>) {
    return tag_invoke(boost::json::value_to_tag<mp::Queue<T>>(), boost::json::value_from(ints));
  };
  ints.put(-42);
  EXPECT_EQ(as(std::type_identity<boost::json::value>{}).get(5s), boost::json::value(-42));
  ints.put(7);
  EXPECT_EQ(as(std::type_identity<double>{}).get(5s), 7.0);
  as(std::type_identity<double>{}).put(2.5);
  EXPECT_THROW(ints.get(5s), mp::TypeError) << "2.5 is not an int (the item is consumed)";
  as(std::type_identity<boost::json::value>{}).put(boost::json::value(1234567));
  EXPECT_EQ(ints.get(5s), 1234567) << "another producer's JSON integer";
  as(std::type_identity<long long>{}).put(std::numeric_limits<long long>::max());
  EXPECT_THROW(ints.get(5s), mp::TypeError) << "out of int's range, as Boost.JSON says";
  mp::Queue<unsigned> unsigned_ints;
  tag_invoke(boost::json::value_to_tag<mp::Queue<int>>(), boost::json::value_from(unsigned_ints))
      .put(-1);
  EXPECT_THROW(unsigned_ints.get(5s), mp::TypeError) << "-1 is not unsigned";
  EXPECT_TRUE(ints.empty());
}

TEST(Queue, ThreadsShareOneQueue) {
  mp::Queue<int> q;
  constexpr int kPerThread = 500;
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&q, t] {
      for (int i = 0; i < kPerThread; ++i) q.put(t * kPerThread + i);
    });
  }
  std::vector<int> last(4, -1);
  for (int n = 0; n < 4 * kPerThread; ++n) {
    int v = q.get(10s);
    int t = v / kPerThread;
    ASSERT_GT(v, last[t]) << "items of one producer thread arrive in order";
    last[t] = v;
  }
  for (auto& p : producers) p.join();
  EXPECT_TRUE(q.empty());
}
