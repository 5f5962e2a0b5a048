// mp::Pool and mp::AsyncResult on the localhost executor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <numeric>
#include <set>
#include <thread>

#include <lithops/multiprocessing.hpp>

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;

namespace {
int sqr(int x) { return x * x; }
int mul(int a, int b) { return a * b; }
int sqr_slow(int x, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return x * x;
}
int fail_on_13(int x) {
  if (x == 13) throw std::out_of_range("thirteen is out of range");
  return x;
}
struct Odd : std::runtime_error {
  using std::runtime_error::runtime_error;
};
int unregistered_error(int x) {
  if (x == 2) throw Odd("odd failure");
  return x;
}
long long my_pid(int) { return static_cast<long long>(::getpid()); }
int kill_self_on_5(int x) {
  if (x == 5) ::kill(::getpid(), SIGKILL);
  return x;
}
std::string worker_name(int) { return mp::current_process().name; }
int sqr_100ms(int x) { return sqr_slow(x, 100); }
}  // namespace
LITHOPS_FUNCTION(sqr_100ms);

LITHOPS_FUNCTION(sqr);
LITHOPS_FUNCTION(mul);
LITHOPS_FUNCTION(sqr_slow);
LITHOPS_FUNCTION(fail_on_13);
LITHOPS_FUNCTION(unregistered_error);
LITHOPS_FUNCTION(my_pid);
LITHOPS_FUNCTION(kill_self_on_5);
LITHOPS_FUNCTION(worker_name);

namespace {
std::vector<int> range(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}
std::vector<int> squares(int n) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i * i);
  return v;
}
}  // namespace

TEST(Pool, ApplyRunsOneCall) {  // PO-01
  mp::Pool pool(2);
  EXPECT_EQ(pool.apply(sqr, 5), 25);
  EXPECT_EQ(pool.apply(mul, 3, 4), 12);
}

TEST(Pool, MapKeepsInputOrderForAnyChunksize) {  // PO-02
  mp::Pool pool(2);
  EXPECT_EQ(pool.map(sqr, range(10)), squares(10));
  EXPECT_EQ(pool.map(sqr, range(100), 20), squares(100));
  EXPECT_EQ(pool.map(sqr, range(100), 1), squares(100));
  EXPECT_EQ(pool.map(sqr, range(1000)), squares(1000));
}

TEST(Pool, StarmapUnpacksTuples) {  // PO-03, PO-04
  mp::Pool pool(2);
  std::vector<std::tuple<int, int>> pairs;
  std::vector<int> expected;
  for (int i = 0; i < 50; ++i) {
    pairs.emplace_back(i, 50 - i);
    expected.push_back(i * (50 - i));
  }
  EXPECT_EQ(pool.starmap(mul, pairs), expected);
  EXPECT_EQ(pool.starmap(mul, pairs, 20), expected);
  EXPECT_EQ(pool.starmap_async(mul, pairs).get(), expected);
}

TEST(Pool, MapAsyncAndCallbacks) {  // PO-05, PO-06
  mp::Pool pool(2);
  EXPECT_EQ(pool.map_async(sqr, range(10)).get(), squares(10));

  std::vector<std::vector<int>> got;
  std::atomic<int> errors{0};
  std::thread::id callback_thread;
  auto r = pool.map_async(
      sqr, std::vector<int>{1}, 0,
      [&](const std::vector<int>& v) {
        got.push_back(v);
        callback_thread = std::this_thread::get_id();
      },
      [&](std::exception_ptr) { ++errors; });
  r.wait();
  ASSERT_TRUE(r.ready());
  EXPECT_EQ(got, (std::vector<std::vector<int>>{{1}}));
  EXPECT_EQ(errors, 0);
  EXPECT_NE(callback_thread, std::this_thread::get_id());  // the pool's collector thread

  std::exception_ptr seen;
  bool success_called = false;
  auto f = pool.map_async(
      fail_on_13, range(20), 0, [&](const std::vector<int>&) { success_called = true; },
      [&](std::exception_ptr e) { seen = e; });
  f.wait();
  EXPECT_FALSE(success_called);
  ASSERT_TRUE(seen);
  EXPECT_THROW(std::rethrow_exception(seen), std::out_of_range);
  EXPECT_FALSE(f.successful());
}

TEST(Pool, MapRaisesTheTasksExceptionAsItsOwnType) {
  mp::Pool pool(2);
  try {
    pool.map(fail_on_13, range(40), 3);
    FAIL() << "expected std::out_of_range";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "thirteen is out of range");
  }
  // The pool stays usable.
  EXPECT_EQ(pool.map(sqr, range(5)), squares(5));
}

TEST(Pool, UnknownExceptionTypeIsRemoteErrorWithTypeAndTraceback) {
  mp::Pool pool(1);
  try {
    pool.map(unregistered_error, range(4), 1);
    FAIL();
  } catch (const mp::RemoteError& e) {
    EXPECT_NE(e.type().find("Odd"), std::string::npos) << e.type();
    EXPECT_EQ(e.message(), "odd failure");
    EXPECT_EQ(e.task_index(), 2);
    EXPECT_FALSE(e.traceback().empty());
  }
}

TEST(Pool, EmptyMapIsReadyAtOnce) {  // PO-08
  mp::Pool pool(1);
  auto r = pool.map_async(sqr, std::vector<int>{}, 1);
  EXPECT_TRUE(r.ready());
  EXPECT_TRUE(r.get(1s).empty());
}

TEST(Pool, ApplyAsyncGetsAfterTheWork) {  // PO-10
  mp::Pool pool(1);
  auto r = pool.apply_async(sqr_slow, 7, 100);
  EXPECT_EQ(r.get(), 49);
  EXPECT_TRUE(r.successful());
}

TEST(Pool, GetWithTimeoutRaisesTimeoutErrorWithoutCancelling) {  // PO-11
  mp::Pool pool(1);
  auto r = pool.apply_async(sqr_slow, 6, 1500);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(r.get(100ms), mp::TimeoutError);
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 90ms);
  EXPECT_LT(waited, 1400ms);
  EXPECT_FALSE(r.ready());
  EXPECT_THROW((void)r.successful(), mp::ValueError);
  EXPECT_EQ(r.get(30s), 36);  // still ran to completion
}

TEST(Pool, ApplyAsyncCallbacks) {
  mp::Pool pool(1);
  std::promise<int> got;
  auto r = pool.apply_async(sqr, mp::args(9), [&](int v) { got.set_value(v); });
  EXPECT_EQ(r.get(), 81);
  EXPECT_EQ(got.get_future().get(), 81);
}

TEST(Pool, WorkersAreNamedAndConcurrencyIsBounded) {
  mp::Pool pool(2);
  auto names = pool.map(worker_name, range(40), 1);
  std::set<std::string> distinct(names.begin(), names.end());
  EXPECT_LE(distinct.size(), 2u);
  for (const auto& n : distinct) EXPECT_EQ(n.rfind("PoolWorker-", 0), 0u) << n;
}

TEST(Pool, WorkerKilledByItsTaskFailsThatTaskAndThePoolGoesOn) {
  mp::Pool pool(2);
  try {
    pool.map(kill_self_on_5, range(20), 1);
    FAIL() << "expected ProcessError";
  } catch (const mp::ProcessError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("task 5"), std::string::npos) << m;
    EXPECT_NE(m.find("signal 9"), std::string::npos) << m;
  }
  // A replacement worker serves the next call.
  EXPECT_EQ(pool.map(sqr, range(30), 1), squares(30));
}

TEST(Pool, CloseThenJoinWaitsForTheWork) {
  mp::Pool pool(2);
  auto r = pool.map_async(sqr_100ms, std::vector<int>{1, 2, 3, 4}, 1);
  EXPECT_THROW(pool.join(), mp::ValueError);  // still running
  pool.close();
  EXPECT_THROW(pool.map(sqr, range(2)), mp::ValueError);
  pool.join();
  EXPECT_TRUE(r.ready());
}
