// Manager proxies across processes of the localhost executor: TestSyncManagerTypes (parent creates,
// child mutates through a proxy, the child's exit code must be 0), concurrent updates with the
// atomic helpers, and nested proxies through a child.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <lithops/multiprocessing.hpp>

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;

namespace {
// A failed check in a child: the exception makes its exit code 1.
void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("check failed: ") + what);
}

void dict_counter(mp::DictProxy<std::string, long long> d, int id, int n) {
  for (int i = 0; i < n; ++i) {
    d.incr("shared");                          // every process: overlapping key
    d.incr("own:" + std::to_string(id), 2);    // this process only: disjoint key
    d.incr("pair:" + std::to_string(id / 2));  // two processes each
  }
}

void list_appender(mp::ListProxy<int> l, int id, int n) {
  for (int i = 0; i < n; ++i) l.append(id * 1000 + i);
}

void mg10_child(mp::ListProxy<int> obj) {
  check(obj.at(0) == 5, "obj[0] == 5");
  check(obj.count(5) == 1, "count(5) == 1");
  check(obj.index(5) == 0, "index(5) == 0");
  obj += std::vector<int>{7};
  obj *= 2;
  check(obj.size() == 4, "len 4 after += and *=");
  obj.extend(std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  obj.sort();
  obj.reverse();
  int n = 0;
  for (int v : obj) n += v >= 0;
  check(n == 16, "iteration sees 16 items");
  check(obj.size() == 16, "len 16");
  check(obj.pop(0) == 12, "pop(0) is the largest after sort+reverse");
  obj.clear();
}

void mg11_child(mp::DictProxy<std::string, int> obj) {
  check(obj.size() == 1, "len 1");
  check(obj.at("foo") == 5, "obj['foo'] == 5");
  check(obj.get("foo") == 5, "get('foo') == 5");
  check(obj.items().size() == 1 && obj.keys()[0] == "foo" && obj.values()[0] == 5, "views");
  check(obj.copy().size() == 1, "copy");
  obj.update({{"bar", 6}});
  auto last = obj.popitem();
  check(last.first == "bar" && last.second == 6, "popitem() is the last inserted");
  check(obj.setdefault("bar", 7) == 7, "setdefault");
  check(obj.pop("bar") == 7, "pop('bar') == 7");
  obj.clear();
}

void mg12_child(mp::NamespaceProxy ns) {
  check(ns.get<int>("x") == 0, "x");
  check(ns.get<int>("y") == 1, "y");
  ns.set("from_child", std::string("hi"));
}

void qu16_child(mp::Queue<int> q) {
  check(q.qsize() == 2, "qsize 2");
  check(q.full(), "full");
  check(!q.empty(), "not empty");
  check(q.get() == 5, "5 first");
  check(q.get() == 6, "then 6");
  check(q.empty(), "empty after");
}

void qu17_child(mp::ListProxy<mp::Queue<int>> l, mp::DictProxy<std::string, mp::Queue<int>> d) {
  auto q = l.at(0);
  q.put(123);
  check(l.at(0).get(10s) == 123, "through the list");
  d.at("q").put(456);
}

void lk06_child(mp::Lock lock) { check(lock.acquire(), "acquire"); }
void rl06_child(mp::RLock lock) {
  check(lock.acquire(), "acquire");
  check(lock.locked(), "locked");
  lock.release();
}
void se04_child(mp::Semaphore s) { check(s.acquire(), "acquire"); }
void bse04_child(mp::BoundedSemaphore s) { check(s.acquire(), "acquire"); }
void co08_child(mp::Condition c) {
  check(c.acquire(), "acquire");
  c.release();
}
void ev03_child(mp::Event e) {
  check(e.is_set(), "set seen");
  check(e.wait(), "wait returns at once");
  e.clear();
}
void ba12_child(mp::Barrier b) {
  check(b.parties() == 5, "parties 5");
  b.reset();
}
void va05_child(mp::Value<int> v) {
  check(v.value() == 1, "value 1");
  v.set(2);
}
void ar06_child(mp::Array<int> a) {
  check(a.size() == 2, "len 2");
  check(a[0] == 0 && a[1] == 1, "indexing");
  check(a.to_vector() == std::vector<int>{0, 1}, "list(a)");
}

void nested_child(mp::DictProxy<std::string, mp::ListProxy<std::string>> d) {
  d.at("log").append("child");
}

void run_child(mp::Process p) {
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}
}  // namespace

LITHOPS_FUNCTION(dict_counter);
LITHOPS_FUNCTION(list_appender);
LITHOPS_FUNCTION(mg10_child);
LITHOPS_FUNCTION(mg11_child);
LITHOPS_FUNCTION(mg12_child);
LITHOPS_FUNCTION(qu16_child);
LITHOPS_FUNCTION(qu17_child);
LITHOPS_FUNCTION(lk06_child);
LITHOPS_FUNCTION(rl06_child);
LITHOPS_FUNCTION(se04_child);
LITHOPS_FUNCTION(bse04_child);
LITHOPS_FUNCTION(co08_child);
LITHOPS_FUNCTION(ev03_child);
LITHOPS_FUNCTION(ba12_child);
LITHOPS_FUNCTION(va05_child);
LITHOPS_FUNCTION(ar06_child);
LITHOPS_FUNCTION(nested_child);

TEST(ManagerProcesses, EightProcessesUpdateDictKeysExactly) {
  constexpr int kProcs = 8, kEach = 200;
  mp::Manager m;
  auto d = m.dict<std::string, long long>();
  std::vector<mp::Process> ps;
  for (int i = 0; i < kProcs; ++i) ps.emplace_back(dict_counter, d, i, kEach);
  for (auto& p : ps) p.start();
  for (auto& p : ps) {
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
  }
  EXPECT_EQ(d.at("shared"), kProcs * kEach);
  for (int i = 0; i < kProcs; ++i) EXPECT_EQ(d.at("own:" + std::to_string(i)), 2 * kEach);
  for (int i = 0; i < kProcs / 2; ++i) EXPECT_EQ(d.at("pair:" + std::to_string(i)), 2 * kEach);
  EXPECT_EQ(d.size(), 1u + kProcs + kProcs / 2);
}

TEST(ManagerProcesses, ConcurrentAppendsAreAllPresentInPerProcessOrder) {
  constexpr int kProcs = 8, kEach = 100;
  mp::Manager m;
  auto l = m.list<int>();
  std::vector<mp::Process> ps;
  for (int i = 0; i < kProcs; ++i) ps.emplace_back(list_appender, l, i, kEach);
  for (auto& p : ps) p.start();
  for (auto& p : ps) {
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
  }
  const auto all = l.copy();
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kProcs * kEach));
  EXPECT_EQ(std::set<int>(all.begin(), all.end()).size(), all.size());
  // Each process's items keep their relative order.
  std::vector<int> last(kProcs, -1);
  for (int v : all) {
    EXPECT_GT(v % 1000, last[v / 1000]);
    last[v / 1000] = v % 1000;
  }
}

TEST(ManagerProcesses, MG10_ListInChild) {
  mp::Manager m;
  auto obj = m.list<int>({5});
  run_child(mp::Process(mg10_child, obj));
  EXPECT_EQ(obj.size(), 0u);
}

TEST(ManagerProcesses, MG11_DictInChild) {
  mp::Manager m;
  auto obj = m.dict<std::string, int>();
  obj["foo"] = 5;
  run_child(mp::Process(mg11_child, obj));
  EXPECT_EQ(obj.size(), 0u);
}

TEST(ManagerProcesses, MG12_NamespaceVisibleInChild) {
  mp::Manager m;
  auto ns = m.Namespace();
  ns.set("x", 0);
  ns.set("y", 1);
  run_child(mp::Process(mg12_child, ns));
  EXPECT_EQ(ns.get<std::string>("from_child"), "hi");
}

TEST(ManagerProcesses, NestedProxyThroughChild) {
  mp::Manager m;
  auto log = m.list<std::string>({"parent"});
  auto d = m.dict<std::string, mp::ListProxy<std::string>>();
  d["log"] = log;
  run_child(mp::Process(nested_child, d));
  EXPECT_EQ(log.copy(), (std::vector<std::string>{"parent", "child"}));
}

TEST(ManagerTypes, QU16_QueueInChild) {
  mp::Manager m;
  auto q = m.Queue<int>(2);
  q.put(5);
  q.put(6);
  run_child(mp::Process(qu16_child, q));
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  auto jq = m.JoinableQueue<int>(2);
  jq.put(5);
  jq.put(6);
  run_child(mp::Process(qu16_child, mp::Queue<int>(jq)));
  EXPECT_TRUE(jq.empty());
}

// QU-17: a queue proxy stored in a manager list or dict stays usable through it.
TEST(ManagerTypes, QU17_NestedQueue) {
  mp::Manager m;
  auto l = m.list<mp::Queue<int>>();
  l.append(m.Queue<int>());
  l.at(0).put(123);
  EXPECT_EQ(l.at(0).get(10s), 123);
  auto d = m.dict<std::string, mp::Queue<int>>();
  d["q"] = m.Queue<int>();
  run_child(mp::Process(qu17_child, l, d));
  EXPECT_EQ(d.at("q").get(10s), 456);
}

TEST(ManagerTypes, QU18_GetNowaitOnEmptyRaisesEmpty) {
  mp::Manager m;
  auto q = m.Queue<int>();
  EXPECT_THROW(q.get_nowait(), mp::Empty);
}

TEST(ManagerTypes, LK06_LockAcquiredInChildReleasedByParent) {
  mp::Manager m;
  auto lock = m.Lock();
  run_child(mp::Process(lk06_child, lock));
  EXPECT_TRUE(lock.locked());
  lock.release();
  EXPECT_THROW(lock.release(), mp::ValueError);  // Python: RuntimeError
}

TEST(ManagerTypes, RL06_RLockInChild) {
  mp::Manager m;
  auto lock = m.RLock();
  run_child(mp::Process(rl06_child, lock));
  EXPECT_FALSE(lock.locked());
}

TEST(ManagerTypes, SE04_SemaphoreAcquiredInChildReleasedByParent) {
  mp::Manager m;
  auto s = m.Semaphore(1);
  run_child(mp::Process(se04_child, s));
  EXPECT_EQ(s.get_value(), 0);
  s.release();
  EXPECT_EQ(s.get_value(), 1);
  auto b = m.BoundedSemaphore(1);
  run_child(mp::Process(bse04_child, b));
  b.release();
  EXPECT_THROW(b.release(), mp::ValueError);
}

TEST(ManagerTypes, CO08_ConditionInChild) {
  mp::Manager m;
  auto c = m.Condition();
  run_child(mp::Process(co08_child, c));
  EXPECT_TRUE(c.acquire(0s));
  c.release();
}

TEST(ManagerTypes, EV03_EventInChild) {
  mp::Manager m;
  auto e = m.Event();
  e.set();
  run_child(mp::Process(ev03_child, e));
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.wait(1ms));
}

TEST(ManagerTypes, BA12_BarrierInChild) {
  mp::Manager m;
  auto b = m.Barrier(5);
  run_child(mp::Process(ba12_child, b));
  EXPECT_EQ(b.parties(), 5);
  EXPECT_FALSE(b.broken());
}

TEST(ManagerTypes, VA05_ValueInChild) {
  mp::Manager m;
  auto v = m.Value<int>(1);
  run_child(mp::Process(va05_child, v));
  EXPECT_EQ(v.value(), 2);
}

TEST(ManagerTypes, AR06_ArrayInChild) {
  mp::Manager m;
  auto a = m.Array<int>(std::vector<int>{0, 1});
  run_child(mp::Process(ar06_child, a));
}
