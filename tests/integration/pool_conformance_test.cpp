// Conformance cases of mp::Pool (IDs of CPython's test_multiprocessing cases, catalogued by the
// project; each test says what it checks), on the
// localhost executor with real workers and a real redis-server. Also: a Pool worker's
// in-progress list never exists without an expiry.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <boost/json.hpp>
#include <filesystem>
#include <lithops/multiprocessing.hpp>

#include "runtime.hpp"
#include "scenario.hpp"
#include "test_functions.hpp"
#include "timing.hpp"

namespace mp = lithops::multiprocessing;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// PO-20: the line of the throw below is what the remote traceback must name.
constexpr int kThrowLine = __LINE__ + 3;
[[gnu::noipa]] int pool_throw_level3(int x) {
  if (x >= 0) {
    throw std::runtime_error("123");
  }
  return x;
}
[[gnu::noipa]] int pool_throw_level2(int x) {
  const int r = pool_throw_level3(x + 1);
  std::printf("unreachable %d\n", r);
  return r;
}
[[gnu::noipa]] int pool_throw_level1(int x) {
  const int r = pool_throw_level2(x + 1);
  std::printf("unreachable %d\n", r);
  return r;
}
struct Unregistered : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[gnu::noipa]] int throw_unregistered(int) { throw Unregistered("not known to the driver"); }
int po_identity(int x) { return x; }

// PO-27: a result type whose serialisation fails at run time.
struct Unencodable {
  int value = 0;
};
void tag_invoke(const json::value_from_tag&, json::value&, const Unencodable& u) {
  throw std::length_error("cannot encode Unencodable(" + std::to_string(u.value) + ")");
}
Unencodable tag_invoke(const json::value_to_tag<Unencodable>&, const json::value& v) {
  return Unencodable{static_cast<int>(v.to_number<long long>())};
}
Unencodable make_unencodable(int x) { return Unencodable{x}; }
long long po_pid() { return static_cast<long long>(::getpid()); }

// PO-28: Pool(3, maxtasksperchild=10) runs 100 tasks correctly and its worker pids change.
std::vector<long long> square_and_pid(int x) {
  return {static_cast<long long>(x) * x, static_cast<long long>(::getpid())};
}

int po_sleep_then(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

// PO-07: an argument type whose serialisation fails at run time.
int takes_unencodable(Unencodable u) { return u.value; }

// PO-14: imap_unordered yields every result exactly once, in any order, with and without chunksize.
int po_square(int x) { return x * x; }

// PO-17: each started task leaves a file named by its index, then sleeps far longer than the test.
int po_mark_then_sleep(std::string dir, int i) {
  lithops::test::write_file(dir + "/" + std::to_string(i), "started");
  std::this_thread::sleep_for(60s);
  return i;
}

// PO-32: Pool(1, initializer, (ns,)) runs the initializer in the worker.
void po_ns_initializer(mp::NamespaceProxy ns) { ns.set("test", 1); }

// PO-35: a manager Pool proxy can be used in a child.
void child_with_scoped_pool(mp::Queue<int> out) {
  int sum = 0;
  {
    mp::Pool pool(4);  // leaving this scope is leaving `with Pool(4) as p:`
    for (int s : pool.map(po_square, std::vector<int>{1, 2, 3, 4, 5})) sum += s;
  }
  out.put(sum);
}

}  // namespace

LITHOPS_FUNCTION(pool_throw_level1);
LITHOPS_FUNCTION(throw_unregistered);
LITHOPS_FUNCTION(po_identity);
LITHOPS_FUNCTION(make_unencodable);
LITHOPS_FUNCTION(po_pid);
LITHOPS_FUNCTION(square_and_pid);
LITHOPS_FUNCTION(po_sleep_then);
LITHOPS_FUNCTION(takes_unencodable);
LITHOPS_FUNCTION(po_square);
LITHOPS_FUNCTION(po_mark_then_sleep);
LITHOPS_FUNCTION(po_ns_initializer);
LITHOPS_FUNCTION(child_with_scoped_pool);

// Adapted: Python's __cause__ (a RemoteTraceback) is the rethrown exception's nested exception
// (std::nested_exception holding an mp::RemoteTraceback); mp::remote_traceback(e) reads it and
// mp::format_exception(e) is what printing the exception shows.
TEST(Pool, PO_20_Traceback) {
  mp::Pool pool(1);
  try {
    pool.apply(pool_throw_level1, 0);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "123");
    const auto tb = mp::remote_traceback(e);
    EXPECT_NE(tb.find("where it was thrown"), std::string::npos) << tb;
    EXPECT_NE(tb.find("pool_throw_level3"), std::string::npos) << tb;
    EXPECT_NE(tb.find("pool_throw_level1"), std::string::npos) << tb;
    // The worker's failing source line (libbacktrace reads the DWARF line table).
    const std::string line = "pool_conformance_test.cpp:" + std::to_string(kThrowLine);
    EXPECT_NE(tb.find(line), std::string::npos) << line << " not in\n" << tb;
    EXPECT_NE(mp::format_exception(e).find(line), std::string::npos);
    EXPECT_NE(dynamic_cast<const std::nested_exception*>(&e), nullptr);
  }
  // The same through map, and for a type the driver does not know (mp::RemoteError).
  try {
    pool.map(throw_unregistered, std::vector<int>{1});
    FAIL() << "no exception";
  } catch (const mp::RemoteError& e) {
    EXPECT_NE(e.traceback().find("throw_unregistered"), std::string::npos) << e.traceback();
  }
  // An exception of the input (driver side) is not wrapped: no remote traceback.
  auto failing_input = std::views::iota(0, 5) | std::views::transform([](int i) {
                         if (i == 3) throw std::runtime_error("input failed");
                         return i;
                       });
  try {
    pool.map(po_identity, failing_input);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "input failed");
    EXPECT_EQ(mp::remote_traceback(e), "");
    EXPECT_EQ(dynamic_cast<const std::nested_exception*>(&e), nullptr);
  }
}

// Adapted: arguments and results live in the store while a call runs; after map returns, none of
// the pool's lists still holds any (the driver keeps none either: a finished job is dropped).
TEST(Pool, PO_23_ReleaseTaskRefs) {
  mp::Pool pool(2);
  std::vector<int> items(200);
  for (int i = 0; i < 200; ++i) items[static_cast<std::size_t>(i)] = i;
  auto out = pool.map(po_identity, items, 1);
  ASSERT_EQ(out, items);
  auto& rt = mp::detail::Runtime::get();
  std::string cursor = "0";
  do {
    auto reply = rt.store().run({"SCAN", cursor, "MATCH", rt.prefix() + "pool:*", "COUNT", "1000"});
    cursor = reply.elements.at(0).str;
    for (const auto& k : reply.elements.at(1).elements) {
      if (rt.store().run({"TYPE", k.str}).str != "list") continue;
      auto values = rt.store().run({"LRANGE", k.str, "0", "-1"});
      for (const auto& v : values.elements) {
        EXPECT_EQ(v.str.find("\"args\""), std::string::npos) << k.str << " still holds " << v.str;
        EXPECT_EQ(v.str.find("\"ok\""), std::string::npos) << k.str << " still holds " << v.str;
      }
    }
  } while (cursor != "0");
  pool.close();
  pool.join();
}

// Adapted: C++ has no garbage collector and leaving a Pool's scope is this API's `with Pool()`,
// so the warning is for what is actually lost: a pool dropped with tasks still pending is
// terminated with a ResourceWarning line on stderr; a pool without pending work ends quietly.
TEST(Pool, PO_25_ResourceWarning) {
  std::optional<mp::AsyncResult<std::vector<int>>> pending;
  testing::internal::CaptureStderr();
  {
    mp::Pool pool(1);
    pending = pool.map_async(po_sleep_then, std::vector<int>{30000, 30000}, 1);
  }
  const auto warned = testing::internal::GetCapturedStderr();
  EXPECT_NE(warned.find("ResourceWarning: unclosed running multiprocessing pool"),
            std::string::npos)
      << warned;
  EXPECT_THROW(pending->get(30s), mp::ProcessError);  // it was terminated

  testing::internal::CaptureStderr();
  {
    mp::Pool pool(1);
    EXPECT_EQ(pool.apply(po_identity, 4), 4);
  }
  const auto quiet = testing::internal::GetCapturedStderr();
  EXPECT_EQ(quiet.find("ResourceWarning"), std::string::npos) << quiet;
}

// Adapted: every result type serialises at compile time unless its own conversion fails at run
// time, which is what Unencodable does. MaybeEncodingError's exc() describes that failure and
// value() the result (its type: C++ has no repr()).
TEST(Pool, PO_27_UnpickleableResult) {
  mp::Pool pool(1);
  const long long pid = pool.apply(po_pid);
  for (int i = 0; i < 20; ++i) {
    std::mutex m;
    std::exception_ptr from_callback;
    auto r = pool.apply_async(
        make_unencodable, mp::args(i), [](const Unencodable&) {},
        [&](std::exception_ptr e) {
          std::lock_guard lock(m);
          from_callback = e;
        });
    try {
      r.get(30s);
      FAIL() << "no exception";
    } catch (const mp::MaybeEncodingError& e) {
      EXPECT_NE(e.exc().find("cannot encode Unencodable(" + std::to_string(i) + ")"),
                std::string::npos)
          << e.what();
      EXPECT_NE(e.exc().find("std::length_error"), std::string::npos) << e.what();
      EXPECT_NE(e.value().find("Unencodable"), std::string::npos) << e.what();
    }
    std::lock_guard lock(m);
    ASSERT_TRUE(from_callback);
    try {
      std::rethrow_exception(from_callback);
    } catch (const mp::MaybeEncodingError& e) {
      EXPECT_FALSE(e.exc().empty());
      EXPECT_FALSE(e.value().empty());
    }
  }
  EXPECT_EQ(pool.apply(po_pid), pid);  // no worker was lost
}

// PO-28: Pool(3, maxtasksperchild=10) runs 100 tasks correctly and its worker pids change.
TEST(Pool, PO_28_WorkerLifetime) {
  mp::PoolOptions options;
  options.processes = 3;
  options.maxtasksperchild = 10;
  mp::Pool pool(options);
  std::vector<mp::AsyncResult<std::vector<long long>>> results;
  for (int i = 0; i < 100; ++i) results.push_back(pool.apply_async(square_and_pid, i));
  std::set<long long> pids;
  for (int i = 0; i < 100; ++i) {
    auto r = results[static_cast<std::size_t>(i)].get(60s);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0], static_cast<long long>(i) * i);
    EXPECT_GT(r[1], 0);
    pids.insert(r[1]);
  }
  // 100 tasks, at most 10 per worker: at least 10 distinct worker processes.
  EXPECT_GE(pids.size(), 10u);
  pool.close();
  pool.join();
}

// --- PO-31: a program that ends while a global object still holds a Pool ------------------------
namespace {
std::unique_ptr<mp::Pool> g_held_pool;
}
LITHOPS_SCENARIO(global_pool_at_exit) {
  g_held_pool = std::make_unique<mp::Pool>(2);
  auto squares = g_held_pool->map(po_identity, std::vector<int>{1, 2, 3});
  std::printf("mapped %zu\n", squares.size());
  return 0;  // g_held_pool is destroyed after main returns, with the runtime's exit handler
}

TEST(Pool, PO_31_GlobalPoolAtExit) {
  auto run = lithops::test::run_scenario("global_pool_at_exit");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("mapped 3"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("terminate called"), std::string::npos) << run.output;
}

// Adapted: the start of the 4th worker fails because the localhost executor allows 3 workers
// (localhost.max_workers), which is the backend refusing an invocation, as a failing fork would.
TEST(Pool, PO_33_ReleaseUnusedProcesses) {
  mp::config::set_parameter(mp::config::LITHOPS_CONFIG,
                            json::parse(R"({"localhost": {"max_workers": 3}})"));
  try {
    mp::Pool pool(5);
    FAIL() << "Pool(5) started with max_workers 3";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("max_workers"), std::string::npos) << e.what();
  }
  // The three workers that did start were stopped and waited for: none runs an invocation.
  auto& executor = mp::detail::Runtime::get().executor();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (executor.running() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(executor.running(), 0u);
  // And the executor is usable again: the three workers are free.
  mp::Pool pool(3);
  EXPECT_EQ(pool.map(po_identity, std::vector<int>{1, 2, 3}), (std::vector<int>{1, 2, 3}));
}

// Adapted: arguments are serialised (Boost.JSON) by the caller when the work is submitted, so the
// serialiser's own error (std::length_error from Unencodable's conversion) is raised right there,
// before anything is queued: nothing to wait for, nothing hangs, and the pool stays usable.
TEST(Pool, PO_07_MapUnpicklable) {
  mp::Pool pool(2);
  const std::vector<Unencodable> items{{1}, {2}, {3}};
  try {
    pool.map(takes_unencodable, items);
    FAIL() << "no exception";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot encode Unencodable(1)"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW((void)pool.map_async(takes_unencodable, items, 1), std::length_error);
  EXPECT_THROW(pool.apply(takes_unencodable, Unencodable{4}), std::length_error);
  EXPECT_EQ(pool.map(po_identity, std::vector<int>{5, 6}), (std::vector<int>{5, 6}));
}

// PO-14: imap_unordered yields every result exactly once, in any order, with and without chunksize.
TEST(Pool, PO_14_ImapUnordered) {
  mp::Pool pool(4);
  std::vector<int> expected;
  for (int i = 0; i < 100; ++i) expected.push_back(i * i);
  for (std::size_t chunksize : {std::size_t{1}, std::size_t{7}}) {
    std::vector<int> got;
    for (int v : pool.imap_unordered(po_square, std::views::iota(0, 100), chunksize)) {
      got.push_back(v);
    }
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, expected) << "chunksize " << chunksize;
  }
  // The default chunksize.
  std::vector<int> got;
  for (int v : pool.imap_unordered(po_square, std::views::iota(0, 100))) got.push_back(v);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
}

// The bound on terminate() + join() is generous for a loaded 2-core machine; what matters is that
// neither waits for the 10 000 one-minute tasks, and that only the tasks already running started:
// the test terminates once each of the three workers runs a task (its marker file is written).
TEST(Pool, PO_17_Terminate) {
  const std::string dir = lithops::test::temp_dir();
  std::vector<std::tuple<std::string, int>> work;
  for (int i = 0; i < 10000; ++i) work.emplace_back(dir, i);
  mp::Pool pool(3);
  auto r = pool.starmap_async(po_mark_then_sleep, work, 1);
  auto marked = [&] {
    std::size_t n = 0;
    for (int i = 0; i < 10000; ++i) n += std::filesystem::exists(dir + "/" + std::to_string(i));
    return n;
  };
  ASSERT_TRUE(lithops::test::eventually([&] { return marked() == 3; })) << marked();
  const auto t0 = std::chrono::steady_clock::now();
  pool.terminate();
  pool.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
  EXPECT_THROW(r.get(5s), mp::ProcessError);
  std::size_t started = 0;
  for (int i = 0; i < 10000; ++i) {
    if (!lithops::test::read_file(dir + "/" + std::to_string(i)).empty()) ++started;
  }
  EXPECT_EQ(started, 3u);  // one task per worker, none of the outstanding ones
}

// Adapted: `with Pool(2) as p:` is a Pool's scope; leaving it runs terminate(), which is also what
// the test calls to go on using the object (a destroyed object cannot be called in C++).
TEST(Pool, PO_19_Context) {
  std::optional<mp::AsyncResult<std::vector<int>>> pending;
  {
    mp::Pool p(2);
    EXPECT_EQ(p.map(po_square, std::vector<int>{1, 2, 3}), (std::vector<int>{1, 4, 9}));
    pending = p.map_async(po_sleep_then, std::vector<int>{60000, 60000}, 1);
  }
  EXPECT_THROW(pending->get(30s), mp::ProcessError);  // leaving the scope terminated it

  mp::Pool p(2);
  EXPECT_EQ(p.map(po_square, std::vector<int>{4}), (std::vector<int>{16}));
  p.terminate();
  try {
    (void)p.map_async(po_square, std::vector<int>{1});
    FAIL() << "map_async on a terminated pool";
  } catch (const mp::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("not running"), std::string::npos) << e.what();
  }
}

// Adapted: C++ has no `with pool:` re-entry; entering a block again means using the pool again,
// and a pool terminated by a previous block refuses every new use with ValueError.
TEST(Pool, PO_24_Enter) {
  mp::Pool pool(1);
  EXPECT_EQ(pool.apply(po_square, 3), 9);
  pool.terminate();
  EXPECT_THROW(pool.apply(po_square, 3), mp::ValueError);
  EXPECT_THROW((void)pool.apply_async(po_square, 3), mp::ValueError);
  EXPECT_THROW(pool.map(po_square, std::vector<int>{1}), mp::ValueError);
  EXPECT_THROW(pool.starmap(po_mark_then_sleep, std::vector<std::tuple<std::string, int>>{}),
               mp::ValueError);
  EXPECT_THROW((void)pool.imap(po_square, std::vector<int>{1}), mp::ValueError);
  EXPECT_THROW((void)pool.imap_unordered(po_square, std::vector<int>{1}), mp::ValueError);
  pool.join();  // terminated: join returns
}

// Adapted: Python's `Pool(initializer=1)` TypeError is a compile error here: PoolOptions's
// initializer is an mp::Function, built only from a registered function.
TEST(Pool, PO_32_PoolInitializer) {
  mp::Manager m;
  auto ns = m.Namespace();
  ns.set("test", 0);
  mp::PoolOptions options;
  options.processes = 1;
  options.initializer = po_ns_initializer;
  options.initargs = {json::value_from(ns)};
  mp::Pool pool(options);
  pool.close();
  pool.join();
  EXPECT_EQ(ns.get<int>("test"), 1);
}

// Adapted: there is no manager Pool proxy here (a Manager serves shared objects, not pools), so
// the case becomes what it relies on: a Pool(4) used as a scoped (RAII, `with`) object in a child.
TEST(Pool, PO_35_ScopedPoolInAChild) {
  mp::Queue<int> out;
  mp::Process p(child_with_scoped_pool, out);
  p.start();
  EXPECT_TRUE(p.join(60s));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(out.get(60s), 1 + 4 + 9 + 16 + 25);
}

// --- a Pool worker's in-progress list always has an expiry --------------------------------------
TEST(Pool, InProgressListsNeverExistWithoutAnExpiry) {
  mp::Pool pool(2);
  std::vector<int> items(400, 0);
  auto r = pool.map_async(po_sleep_then, items, 1);
  auto& rt = mp::detail::Runtime::get();
  const std::string pattern = rt.prefix() + "pool:*:wip:*";
  long long checked = 0;
  while (!r.ready()) {
    std::string cursor = "0";
    do {
      auto reply = rt.store().run({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      cursor = reply.elements.at(0).str;
      for (const auto& k : reply.elements.at(1).elements) {
        const auto ttl = rt.store().run({"TTL", k.str}).integer;
        if (ttl == -2) continue;  // deleted between SCAN and TTL (its worker exited)
        EXPECT_GT(ttl, 0) << k.str << " exists without an expiry";
        ++checked;
      }
    } while (cursor != "0");
  }
  EXPECT_EQ(r.get(60s).size(), items.size());
  EXPECT_GT(checked, 0);
}
