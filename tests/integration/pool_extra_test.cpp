// Pool: imap/imap_unordered streams, initializer, maxtasksperchild, dead workers, terminate.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <numeric>
#include <ranges>
#include <set>
#include <string>
#include <thread>

#include <lithops/multiprocessing.hpp>

#include "runtime.hpp"
#include "scenario.hpp"
#include "test_functions.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;

namespace {
int twice(int x) { return 2 * x; }
int sleep_then_echo(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
int g_initialised = 0;
void set_initialised(int v, std::string suffix) {
  g_initialised = v + static_cast<int>(suffix.size());
}
int read_initialised(int) { return g_initialised; }
long long pid_of_worker(int) { return static_cast<long long>(::getpid()); }
int kill_self_on_42(int x) {
  if (x == 42) ::kill(::getpid(), SIGKILL);
  return x;
}
void init_throws(int) { throw std::invalid_argument("bad initializer"); }
void init_dies(int code) { std::_Exit(code); }
long long record_pid_and_sleep(std::string path) {
  lithops::test::write_file(path, std::to_string(::getpid()));
  std::this_thread::sleep_for(60s);
  return 0;
}
struct Custom : std::runtime_error {
  using std::runtime_error::runtime_error;
};
int throw_custom(int) { throw Custom("custom failure"); }

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> value;
      return value;
    }
    in.ignore(1 << 16, '\n');
  }
  return -1;
}

// An input range that throws on its n-th element (PO-09).
struct ThrowingInput {
  int fail_at;
  struct iterator {
    using value_type = int;
    using difference_type = std::ptrdiff_t;
    int i = 0;
    int fail_at = 0;
    int operator*() const {
      if (i == fail_at) throw std::length_error("input broke at " + std::to_string(i));
      return i;
    }
    iterator& operator++() {
      ++i;
      return *this;
    }
    void operator++(int) { ++i; }
    bool operator==(const iterator& o) const { return i == o.i; }
  };
  iterator begin() const { return {0, fail_at}; }
  iterator end() const { return {10, fail_at}; }
};
}  // namespace

LITHOPS_FUNCTION(twice);
LITHOPS_FUNCTION(sleep_then_echo);
LITHOPS_FUNCTION(set_initialised);
LITHOPS_FUNCTION(read_initialised);
LITHOPS_FUNCTION(pid_of_worker);
LITHOPS_FUNCTION(kill_self_on_42);
LITHOPS_FUNCTION(init_throws);
LITHOPS_FUNCTION(init_dies);
LITHOPS_FUNCTION(record_pid_and_sleep);
LITHOPS_FUNCTION(throw_custom);
LITHOPS_EXCEPTION(Custom);

TEST(PoolImap, YieldsInInputOrder) {  // PO-12
  mp::Pool pool(2);
  std::vector<int> got;
  for (int v : pool.imap(twice, std::views::iota(0, 200))) got.push_back(v);
  ASSERT_EQ(got.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], 2 * i);

  auto it = pool.imap(twice, std::views::iota(0, 1000), 100);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(it.next(), 2 * i);
  EXPECT_EQ(it.next(), std::nullopt);  // StopIteration
}

TEST(PoolImap, UnorderedYieldsInCompletionOrder) {  // PO-13
  mp::Pool pool(2);
  std::vector<int> input{1500, 10, 10, 10};
  std::vector<int> got;
  for (int v : pool.imap_unordered(sleep_then_echo, input)) got.push_back(v);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got.back(), 1500);  // the slow one finishes last
  std::multiset<int> a(got.begin(), got.end()), b(input.begin(), input.end());
  EXPECT_EQ(a, b);
}

TEST(PoolImap, NextWithTimeoutRaisesTimeoutError) {
  mp::Pool pool(1);
  auto it = pool.imap(sleep_then_echo, std::vector<int>{2000});
  EXPECT_THROW(it.next(100ms), mp::TimeoutError);
  EXPECT_EQ(it.next(30s), 2000);
}

TEST(PoolImap, AMillionItemGeneratorStreamsInBoundedMemory) {
  mp::Pool pool(2);
  const long before = rss_kib();
  long peak = before;
  long long sum = 0, count = 0;
  auto stream = pool.imap(twice, std::views::iota(0, 1'000'000), 2000);
  while (auto v = stream.next()) {
    sum += *v;
    if (++count % 100'000 == 0) peak = std::max(peak, rss_kib());
  }
  EXPECT_EQ(count, 1'000'000);
  EXPECT_EQ(sum, 999'999LL * 1'000'000LL);
  // Documented bound: 4 x processes chunks in flight. 8 x 2000 ints is far below 64 MiB; the
  // whole input as JSON would be well above it.
#if defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed memory in quarantine (256 MiB by default), so RSS says nothing here.
  (void)peak;
#else
  EXPECT_LT(peak - before, 64 * 1024) << "RSS grew from " << before << " KiB to " << peak;
#endif
}

TEST(PoolImap, InputExceptionIsRaisedInItsPlace) {  // PO-09
  mp::Pool pool(2);
  auto it = pool.imap(twice, ThrowingInput{4});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(it.next(), 2 * i);
  EXPECT_THROW(it.next(), std::length_error);
  EXPECT_THROW(pool.map(twice, ThrowingInput{0}), std::length_error);
  EXPECT_THROW(pool.map(twice, ThrowingInput{3}), std::length_error);
  EXPECT_EQ(pool.map(twice, std::vector<int>{1, 2}), (std::vector<int>{2, 4}));  // still usable
}

TEST(PoolOptions, InitializerRunsInEveryWorkerBeforeItsTasks) {
  mp::PoolOptions options;
  options.processes = 2;
  options.initializer = set_initialised;
  options.initargs = {40, "ab"};
  mp::Pool pool(options);
  for (int v : pool.map(read_initialised, std::vector<int>(20, 0), 1)) EXPECT_EQ(v, 42);
}

TEST(PoolOptions, FailingInitializerBreaksThePoolWithItsError) {
  mp::PoolOptions options;
  options.processes = 1;
  options.initializer = init_throws;
  options.initargs = {1};
  mp::Pool pool(options);
  EXPECT_THROW(pool.map(twice, std::vector<int>{1, 2, 3}), std::invalid_argument);
}

TEST(PoolOptions, MaxTasksPerChildOneGivesAFreshProcessPerTask) {
  mp::PoolOptions options;
  options.processes = 2;
  options.maxtasksperchild = 1;
  mp::Pool pool(options);
  auto pids = pool.map(pid_of_worker, std::vector<int>(6, 0), 1);
  std::set<long long> distinct(pids.begin(), pids.end());
  EXPECT_EQ(distinct.size(), 6u);
}

// The original type, not a wrapper: neither mp::RemoteError nor std::nested_exception is caught
// before it.
TEST(PoolErrors, PO_21_WrappedException) {
  mp::Pool pool(1);
  try {
    pool.apply(throw_custom, 1);
    FAIL() << "no exception";
  } catch (const mp::RemoteError& e) {
    FAIL() << "wrapped: " << e.what();
  } catch (const Custom& e) {
    EXPECT_STREQ(e.what(), "custom failure");
  }
  EXPECT_THROW(pool.apply(throw_custom, 2), Custom);
}

TEST(PoolErrors, TaskKillingItsWorkerFailsOnlyThatTask) {
  mp::Pool pool(2);
  std::vector<mp::AsyncResult<int>> results;
  for (int i = 0; i < 100; ++i) results.push_back(pool.apply_async(kill_self_on_42, i));
  int ok = 0;
  for (int i = 0; i < 100; ++i) {
    if (i == 42) {
      try {
        results[42].get(60s);
        ADD_FAILURE() << "task 42 should fail";
      } catch (const mp::ProcessError& e) {
        EXPECT_NE(std::string(e.what()).find("signal 9"), std::string::npos) << e.what();
      }
    } else {
      EXPECT_EQ(results[static_cast<std::size_t>(i)].get(60s), i);
      ++ok;
    }
  }
  EXPECT_EQ(ok, 99);
}

TEST(PoolLifecycle, TerminateStopsBusyWorkersAndLeavesNoneBehind) {
  const std::string dir = lithops::test::temp_dir();
  std::vector<std::string> paths{dir + "/w0", dir + "/w1"};
  std::vector<long long> pids;
  {
    mp::Pool pool(2);
    auto r = pool.map_async(record_pid_and_sleep, paths, 1);
    for (const auto& p : paths) {
      for (int i = 0; i < 500 && lithops::test::read_file(p).empty(); ++i) {
        std::this_thread::sleep_for(10ms);
      }
      pids.push_back(std::stoll(lithops::test::read_file(p)));
    }
    auto t0 = std::chrono::steady_clock::now();
    pool.terminate();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    EXPECT_THROW(r.get(5s), mp::ProcessError);
  }
  for (auto pid : pids) EXPECT_TRUE(lithops::test::pid_gone_within(pid, 5)) << pid;
}

TEST(PoolLifecycle, DestructorTerminatesLikeWithBlock) {
  auto t0 = std::chrono::steady_clock::now();
  {
    mp::Pool pool(2);
    (void)pool.map_async(sleep_then_echo, std::vector<int>{30000, 30000}, 1);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

// --- the last Pool reference released on the pool's own collector thread ----------------------
namespace {
// Waits until the localhost executor runs no invocation any more: the pool's workers have ended.
bool executor_idle_within(std::chrono::seconds limit) {
  auto& executor = mp::detail::Runtime::get().executor();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (executor.running() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  return executor.running() == 0;
}
}  // namespace

TEST(PoolLifecycle, CallbackMayDropTheLastPoolReference) {
  auto pool = std::make_unique<mp::Pool>(2);
  std::promise<void> submitted;
  std::promise<std::thread::id> dropped;
  auto go = submitted.get_future().share();
  auto r = pool->apply_async(twice, mp::args(21), [&, go](int) {
    if (go.wait_for(30s) != std::future_status::ready) return;  // apply_async has returned
    pool.reset();  // the last reference: the pool ends here, on its own collector thread
    dropped.set_value(std::this_thread::get_id());
  });
  submitted.set_value();
  EXPECT_EQ(r.get(30s), 42);
  auto on = dropped.get_future();
  ASSERT_EQ(on.wait_for(30s), std::future_status::ready);
  EXPECT_NE(on.get(), std::this_thread::get_id());
  EXPECT_EQ(pool, nullptr);
  EXPECT_TRUE(executor_idle_within(30s));
  mp::Pool next(2);
  EXPECT_EQ(next.map(twice, std::vector<int>{1, 2, 3}), (std::vector<int>{2, 4, 6}));
}

TEST(PoolLifecycle, CallbackMayTerminateButNotJoinItsPool) {
  mp::Pool pool(2);
  std::string join_error;
  std::promise<void> submitted;
  std::promise<void> terminated;
  auto go = submitted.get_future().share();
  auto r = pool.apply_async(twice, mp::args(5), [&, go](int) {
    if (go.wait_for(30s) != std::future_status::ready) return;
    pool.close();
    try {
      pool.join();  // would wait for this very thread
    } catch (const mp::Error& e) {
      join_error = e.what();
    }
    pool.terminate();  // on the collector thread: it must not wait for or join itself
    terminated.set_value();
  });
  submitted.set_value();
  EXPECT_EQ(r.get(30s), 10);
  ASSERT_EQ(terminated.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_NE(join_error.find("from a callback"), std::string::npos) << join_error;
  EXPECT_THROW(pool.apply(twice, 1), mp::ValueError);
  pool.join();
  EXPECT_TRUE(executor_idle_within(30s));
}

// An imap stream holds its pool: with the Pool and then the iterator gone while tasks still run,
// the stream's last result releases the last reference, on the collector thread.
TEST(PoolLifecycle, ImapStreamMayOutliveItsPool) {
  auto pool = std::make_unique<mp::Pool>(2);
  auto it = std::make_unique<mp::IMapIterator<int>>(
      pool->imap_unordered(sleep_then_echo, std::vector<int>(6, 300)));
  pool.reset();
  EXPECT_EQ(it->next(30s), 300);
  it.reset();  // the tasks already queued still run
  EXPECT_TRUE(executor_idle_within(30s));
  mp::Pool next(2);
  EXPECT_EQ(next.map(twice, std::vector<int>{4, 5}), (std::vector<int>{8, 10}));
}

// --- more of CPython's Pool cases ---------------------------------------------------------------
namespace {
int fail_after(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  throw std::invalid_argument("failed after " + std::to_string(ms) + " ms");
}
int raise_out_of_range(int) { throw std::out_of_range("no such key"); }
int sleep_300_then_square(int x) {
  std::this_thread::sleep_for(300ms);
  return x * x;
}
int square_it(int x) { return x * x; }
}  // namespace
LITHOPS_FUNCTION(fail_after);
LITHOPS_FUNCTION(raise_out_of_range);
LITHOPS_FUNCTION(sleep_300_then_square);
LITHOPS_FUNCTION(square_it);

TEST(PoolImap, PO13_TheChunkHoldingTheInputFailureIsLost) {
  mp::Pool pool(2);
  for (auto [fail_at, chunksize, expected] : {std::tuple{3, 1, 3}, {7, 2, 6}, {7, 4, 4}}) {
    auto it = pool.imap(twice, ThrowingInput{fail_at}, static_cast<std::size_t>(chunksize));
    int got = 0;
    try {
      while (it.next()) ++got;
      ADD_FAILURE() << "no exception for fail_at=" << fail_at;
    } catch (const std::length_error&) {
    }
    EXPECT_EQ(got, expected) << "fail_at=" << fail_at << " chunksize=" << chunksize;
  }
}

TEST(PoolImap, PO15_UnorderedInputFailureSurfacesAfterValidResults) {
  mp::Pool pool(2);
  auto it = pool.imap_unordered(twice, ThrowingInput{6}, 1);
  std::set<int> seen;
  try {
    while (auto v = it.next()) EXPECT_TRUE(seen.insert(*v).second) << "duplicate " << *v;
    ADD_FAILURE() << "no exception";
  } catch (const std::length_error&) {
  }
  for (int v : seen) EXPECT_TRUE(v % 2 == 0 && v < 12) << v;
}

TEST(PoolOptions, PO16_ZeroOrNegativeProcessesIsValueError) {
  EXPECT_THROW(mp::Pool(0), mp::ValueError);
  EXPECT_THROW(mp::Pool(-1), mp::ValueError);
  mp::Pool three(3);
  EXPECT_EQ(three.processes(), 3);
}

TEST(PoolImap, PO18_EmptyInputGivesEmptyResults) {
  mp::Pool pool(1);
  std::vector<int> none;
  EXPECT_TRUE(pool.map(twice, none).empty());
  EXPECT_TRUE(pool.map_async(twice, none).get().empty());
  EXPECT_EQ(pool.imap(twice, none).next(), std::nullopt);
  EXPECT_EQ(pool.imap_unordered(twice, none).next(), std::nullopt);
}

TEST(PoolErrors, PO22_MapRaisesOnlyAfterEveryTaskHasFinished) {
  mp::Pool pool(2);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(pool.map(fail_after, std::vector<int>{0, 1000}, 1), std::invalid_argument);
  EXPECT_GT(std::chrono::steady_clock::now() - t0, 900ms);
  pool.close();
  pool.join();
}

TEST(PoolErrors, PO26_ErrorCallbackGetsTheException) {
  mp::Pool pool(1);
  std::exception_ptr seen;
  auto r = pool.apply_async(
      raise_out_of_range, mp::args(1), [](int) {}, [&](std::exception_ptr e) { seen = e; });
  EXPECT_THROW(r.get(30s), std::out_of_range);
  ASSERT_TRUE(seen);
  EXPECT_THROW(std::rethrow_exception(seen), std::out_of_range);
}

TEST(PoolOptions, PO29_CloseAndJoinRightAwayWithMaxTasksPerChildOne) {
  mp::PoolOptions options;
  options.processes = 2;
  options.maxtasksperchild = 1;
  mp::Pool pool(options);
  auto r = pool.map_async(sleep_300_then_square, std::vector<int>{0, 1, 2, 3, 4, 5}, 1);
  pool.close();
  pool.join();
  EXPECT_EQ(r.get(1s), (std::vector<int>{0, 1, 4, 9, 16, 25}));
}

TEST(PoolOptions, PO30_InvalidMaxTasksPerChildIsValueError) {
  for (int bad : {0, -1}) {
    mp::PoolOptions options;
    options.processes = 1;
    options.maxtasksperchild = bad;
    EXPECT_THROW(mp::Pool{options}, mp::ValueError) << bad;
  }
}

TEST(PoolLifecycle, PO34_TwoHundredWorkers) {
  mp::Pool pool(200);
  std::vector<int> in(1000);
  std::iota(in.begin(), in.end(), 0);
  auto out = pool.map(square_it, in);
  EXPECT_EQ(std::accumulate(out.begin(), out.end(), 0LL), 332833500LL);
}

// Issue 25: workers that die before they take a task (here: in their initializer; in the field: a
// worker program that cannot start) are not replaced forever. After max(4, 2 * processes) such
// losses in a row the pool gives up: map raises a ProcessError that says why.
TEST(PoolDeadWorkers, WorkersDyingBeforeTheirFirstTaskMakeMapRaise) {
  mp::PoolOptions options;
  options.processes = 2;
  options.initializer = init_dies;
  options.initargs = {3};
  mp::Pool pool(options);
  try {
    (void)pool.map_async(twice, std::vector<int>{1, 2, 3}).get(120s);
    FAIL() << "map returned although no worker ever started";
  } catch (const mp::ProcessError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("keep dying before they run a task: 4 in a row"), std::string::npos) << m;
    EXPECT_NE(m.find("exited with status 3"), std::string::npos) << m;  // the last loss's reason
  }
  // Still broken, said at once: no new workers are started for a new call.
  EXPECT_THROW((void)pool.map_async(twice, std::vector<int>{1}).get(10s), mp::ProcessError);
  pool.terminate();
}
