// Manager features beyond the containers: set() (MG-13), registered user types (MG-14), managers
// reached by address (MG-15), start(initializer) (MG-16) and reference counting in Redis (MG-17),
// against a real redis-server and real localhost workers.
#include <gtest/gtest.h>

// GCC 12 with -fsanitize=address at -O2 reports a false -Wmaybe-uninitialized inside Boost.JSON's
// conversion of a described struct with a std::vector member (boost::system::result<Counter>).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/describe.hpp>
#include <lithops/multiprocessing.hpp>

#include "../../support/scenario.hpp"
#include "runtime.hpp"

namespace mp = lithops::multiprocessing;
namespace json = boost::json;
using namespace std::chrono_literals;

// MG-14's types (Python's FooBar and baz generator), and a stateful one for atomicity.
struct FooBar {
  std::string f() const { return "f()"; }
  std::string g() const { throw mp::ValueError("g() raises"); }
  std::string _h() const { return "_h()"; }
};
BOOST_DESCRIBE_STRUCT(FooBar, (), (f, g, _h))

struct Squares {
  int i = 0;
  std::optional<int> next() {
    if (i >= 10) return std::nullopt;
    const int r = i * i;
    ++i;
    return r;
  }
};
BOOST_DESCRIBE_STRUCT(Squares, (), (i, next))

struct Counter {
  long long n = 0;
  std::vector<std::string> log;
  long long add(long long by, const std::string& who) {
    n += by;
    log.push_back(who);
    return n;
  }
  long long fail_after_add() {
    n += 1000;
    throw mp::ValueError("fail_after_add");
  }
};
BOOST_DESCRIBE_STRUCT(Counter, (), (n, log, add, fail_after_add))

namespace {
void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("check failed: ") + what);
}

std::string unique_name(const std::string& base) {
  std::random_device rd;
  return base + "-" + std::to_string(rd()) + std::to_string(rd());
}

using IntSet = std::set<int>;

void mg13_child(mp::SetProxy<int> s) {
  check(s.size() == 3 && s.contains(5), "sees the parent's items");
  s.add(6);
  s.remove(1);
  bool raised = false;
  try {
    s.remove(1);
  } catch (const mp::KeyError&) {
    raised = true;
  }
  check(raised, "remove of a missing item raises KeyError");
  s.discard(1);
  s |= IntSet{10, 11};
  s -= IntSet{11};
  s &= IntSet{2, 5, 6, 10, 99};
  s ^= IntSet{2, 7};
  check((s | IntSet{100}) == IntSet{5, 6, 7, 10, 100}, "s | {100} in the child");
}

void mg14_child_calls(mp::ObjectProxy<Counter> c, int id, int n) {
  for (int i = 0; i < n; ++i) c.call<&Counter::add>(1, std::to_string(id));
}

void mg14_child_exception(mp::ObjectProxy<FooBar> foo) {
  check(foo.call<&FooBar::f>() == "f()", "f() in the child");
  try {
    foo.call<&FooBar::g>();
  } catch (const mp::ValueError& e) {
    check(std::string(e.what()) == "g() raises", "the method's own exception");
    return;
  }
  throw std::runtime_error("g() did not raise");
}

void mg15_putter(std::string address, std::string authkey) {
  auto client = mp::Manager::connect(address, authkey);
  auto q = client.get<mp::Queue<json::value>>("get_queue");
  q.put(json::array{"hello world", nullptr, true, 2.25});
}

void mg16_initializer(mp::NamespaceProxy ns) { ns.set("test", ns.get<int>("test") + 1); }

void mg17_child(mp::DictProxy<std::string, int> d) { d["child"] = 1; }

// Python: SyncManager.start(1) raises TypeError. Here it does not compile.
template <class M>
concept StartsWith = requires(M& m, int x) {
  m.start(x);
};
static_assert(!StartsWith<mp::Manager>);
// Python: set(1234) raises; here a non-iterable does not compile (and JSON is checked, below).
template <class M>
concept SetFromInt = requires(M& m) {
  m.template set<int>(1234);
};
static_assert(!SetFromInt<mp::Manager>);
}  // namespace

LITHOPS_FUNCTION(mg13_child);
LITHOPS_FUNCTION(mg14_child_calls);
LITHOPS_FUNCTION(mg14_child_exception);
LITHOPS_FUNCTION(mg15_putter);
LITHOPS_FUNCTION(mg16_initializer);
LITHOPS_FUNCTION(mg17_child);

// ---- MG-13: manager.set() ----

// MG-13: manager set: operators, in-place forms, methods and comparisons; built from set/list/dict.
TEST(ManagerSet, MG13_OperatorsAndMethods) {
  mp::Manager m;
  auto s = m.set<int>({1, 2, 3});
  EXPECT_EQ(s.size(), 3u);
  // Binary operators, both orders: local sets.
  EXPECT_EQ(s | IntSet{4}, (IntSet{1, 2, 3, 4}));
  EXPECT_EQ(IntSet{4} | s, (IntSet{1, 2, 3, 4}));
  EXPECT_EQ(s - IntSet{1}, (IntSet{2, 3}));
  EXPECT_EQ((IntSet{1, 9} - s), (IntSet{9}));
  EXPECT_EQ((s ^ IntSet{3, 4}), (IntSet{1, 2, 4}));
  EXPECT_EQ((IntSet{3, 4} ^ s), (IntSet{1, 2, 4}));
  EXPECT_EQ((s & IntSet{2, 3, 4}), (IntSet{2, 3}));
  EXPECT_EQ((IntSet{2, 3, 4} & s), (IntSet{2, 3}));
  EXPECT_EQ(s.copy(), (IntSet{1, 2, 3}));  // the operands were not changed
  // In-place forms keep the proxy (they return it) and change the shared set.
  mp::SetProxy<int>& same = (s |= IntSet{4});
  EXPECT_EQ(&same, &s);
  EXPECT_EQ(s.copy(), (IntSet{1, 2, 3, 4}));
  s -= IntSet{4};
  EXPECT_EQ(s.copy(), (IntSet{1, 2, 3}));
  s ^= IntSet{3, 4};
  EXPECT_EQ(s.copy(), (IntSet{1, 2, 4}));
  s &= IntSet{1, 2, 3};
  EXPECT_EQ(s.copy(), (IntSet{1, 2}));
  // Methods.
  s.add(5);
  EXPECT_TRUE(s.contains(5));
  s.remove(5);
  EXPECT_FALSE(s.contains(5));
  EXPECT_THROW(s.remove(5), mp::KeyError);
  s.discard(5);  // no error
  s.add(7);
  const int popped = s.pop();
  EXPECT_TRUE(popped == 1 || popped == 2 || popped == 7) << popped;
  EXPECT_FALSE(s.contains(popped));
  s.clear();
  EXPECT_THROW(s.pop(), mp::KeyError);
  s.update(std::vector<int>{1, 2, 3});
  EXPECT_EQ(s.intersection(std::vector<int>{2, 3, 4}), (IntSet{2, 3}));
  EXPECT_EQ(s.union_(std::vector<int>{4}), (IntSet{1, 2, 3, 4}));
  EXPECT_EQ(s.difference(std::vector<int>{1}), (IntSet{2, 3}));
  EXPECT_EQ(s.symmetric_difference(std::vector<int>{3, 4}), (IntSet{1, 2, 4}));
  EXPECT_TRUE(s.isdisjoint(std::vector<int>{8, 9}));
  EXPECT_FALSE(s.isdisjoint(std::vector<int>{3, 9}));
  EXPECT_TRUE(s.issubset(std::vector<int>{1, 2, 3, 4}));
  EXPECT_FALSE(s.issubset(std::vector<int>{1, 2}));
  EXPECT_TRUE(s.issuperset(std::vector<int>{1, 2}));
  s.intersection_update(std::vector<int>{1, 2, 9});
  EXPECT_EQ(s.copy(), (IntSet{1, 2}));
  s.difference_update(std::vector<int>{1});
  EXPECT_EQ(s.copy(), (IntSet{2}));
  s.symmetric_difference_update(std::vector<int>{2, 3, 3});
  EXPECT_EQ(s.copy(), (IntSet{3}));
  // Another SetProxy as the operand.
  auto t = m.set<int>({3, 4});
  EXPECT_EQ(s | t, (IntSet{3, 4}));
  s |= t;
  EXPECT_EQ(s.copy(), (IntSet{3, 4}));
  // Comparisons.
  EXPECT_TRUE(s <= (IntSet{3, 4}));
  EXPECT_FALSE(s < (IntSet{3, 4}));
  EXPECT_TRUE(s < (IntSet{3, 4, 5}));
  EXPECT_TRUE(s >= (IntSet{3}));
  EXPECT_TRUE(s > (IntSet{3}));
  EXPECT_FALSE(s > (IntSet{3, 4}));
  EXPECT_TRUE(s == (IntSet{3, 4}));
  EXPECT_TRUE(t <= s);
  EXPECT_FALSE(t < s);
  int sum = 0;
  for (int v : s) sum += v;
  EXPECT_EQ(sum, 7);
}

// MG-13: manager set: operators, in-place forms, methods and comparisons; built from set/list/dict.
TEST(ManagerSet, MG13_Init) {
  mp::Manager m;
  EXPECT_EQ(m.set<int>().size(), 0u);
  EXPECT_EQ((m.set<int>(IntSet{1, 2}).copy()), (IntSet{1, 2}));
  EXPECT_EQ(m.set<int>(std::vector<int>{1, 1, 2}).copy(), (IntSet{1, 2}));
  const std::map<std::string, int> d{{"a", 1}, {"b", 2}};
  EXPECT_EQ(m.set<std::string>(d).copy(), (std::set<std::string>{"a", "b"}));
  // JSON: an array's items, an object's keys; a number is not iterable (Python's set(1234)).
  auto js = m.set(json::parse(R"([1, "x", 1, true])"));
  EXPECT_EQ(js.size(), 3u);
  EXPECT_TRUE(js.contains(json::value("x")));
  EXPECT_EQ(m.set(json::parse(R"({"k1": 1, "k2": 2})")).size(), 2u);
  EXPECT_THROW(m.set(json::value(1234)), mp::TypeError);
  // Unhashable items (Python: TypeError).
  EXPECT_THROW(m.set(json::parse(R"([[1, 2]])")), mp::TypeError);
  EXPECT_THROW(js.add(json::parse(R"({"a": 1})")), mp::TypeError);
}

// MG-13: manager set: operators, in-place forms, methods and comparisons; built from set/list/dict.
TEST(ManagerSet, MG13_ContainAll) {
  mp::Manager m;
  auto s = m.set<std::string>({"a", "b", "c"});
  for (const std::string v : {"a", "b", "c"}) EXPECT_TRUE(s.contains(v)) << v;
  EXPECT_FALSE(s.contains("d"));
}

// MG-13: manager set: operators, in-place forms, methods and comparisons; built from set/list/dict.
TEST(ManagerSet, MG13_SetInChild) {
  mp::Manager m;
  auto s = m.set<int>({1, 2, 5});
  mp::Process p(mg13_child, s);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(s.copy(), (IntSet{5, 6, 7, 10}));
}

// ---- MG-14: registered types ----

TEST(ManagerCustom, MG14_ExposedMethodsAndErrors) {
  mp::Manager m;
  m.register_type<FooBar>("Foo");
  m.register_type<FooBar>("Bar", std::vector<std::string>{"f", "_h"});
  auto foo = m.create<FooBar>("Foo");
  auto bar = m.create<FooBar>("Bar");
  EXPECT_EQ(foo.exposed(), (std::vector<std::string>{"f", "g"}));
  EXPECT_EQ(bar.exposed(), (std::vector<std::string>{"f", "_h"}));
  EXPECT_TRUE(foo.exposes("g"));
  EXPECT_FALSE(foo.exposes("_h"));
  EXPECT_EQ(foo.call<&FooBar::f>(), "f()");
  EXPECT_THROW(foo.call<&FooBar::g>(), mp::ValueError);
  EXPECT_EQ(foo.callmethod<std::string>("f"), "f()");
  try {
    foo.callmethod("_h");
    ADD_FAILURE() << "_h is not exposed by Foo";
  } catch (const mp::RemoteError& e) {
    EXPECT_EQ(e.type(), "AttributeError");
    EXPECT_NE(std::string(e.what()).find("_h"), std::string::npos) << e.what();
  }
  EXPECT_EQ(bar.call<&FooBar::f>(), "f()");
  EXPECT_EQ(bar.call<&FooBar::_h>(), "_h()");
  EXPECT_EQ(bar.callmethod<std::string>("_h"), "_h()");
  EXPECT_THROW(bar.call<&FooBar::g>(), mp::RemoteError);
  // Registration errors name the problem.
  EXPECT_THROW(m.register_type<FooBar>("Baz", std::vector<std::string>{"nope"}), mp::ValueError);
  EXPECT_THROW(m.create<FooBar>("Unregistered"), mp::AttributeError);
  EXPECT_THROW(m.create<Squares>("Foo"), mp::TypeError);
}

TEST(ManagerCustom, MG14_IteratorProxyYieldsSquares) {
  mp::Manager m;
  m.register_type<Squares>("baz");
  auto baz = m.create<Squares>("baz");
  std::vector<int> got;
  for (int v : baz.iterate<int>()) got.push_back(v);
  std::vector<int> want;
  for (int i = 0; i < 10; ++i) want.push_back(i * i);
  EXPECT_EQ(got, want);
  EXPECT_EQ(baz.value().i, 10);
}

TEST(ManagerCustom, MG14_MethodsFromWorkersAreAtomicAndStateful) {
  constexpr int kProcs = 4, kEach = 20;
  mp::Manager m;
  m.register_type<Counter>("Counter");
  auto c = m.create<Counter>("Counter", Counter{100, {}});
  std::vector<mp::Process> ps;
  for (int i = 0; i < kProcs; ++i) ps.emplace_back(mg14_child_calls, c, i, kEach);
  for (auto& p : ps) p.start();
  for (auto& p : ps) {
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
  }
  const Counter end = c.value();
  EXPECT_EQ(end.n, 100 + kProcs * kEach);
  EXPECT_EQ(end.log.size(), static_cast<std::size_t>(kProcs * kEach));
  // A method that throws leaves the state as it was.
  EXPECT_THROW(c.call<&Counter::fail_after_add>(), mp::ValueError);
  EXPECT_EQ(c.value().n, 100 + kProcs * kEach);
}

TEST(ManagerCustom, MG14_MethodExceptionInWorker) {
  mp::Manager m;
  m.register_type<FooBar>("Foo");
  auto foo = m.create<FooBar>("Foo");
  mp::Process p(mg14_child_exception, foo);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(ManagerCustom, MG14_ContextFormAndShutdown) {
  mp::Manager m(mp::Manager::deferred);
  EXPECT_FALSE(m.running());
  EXPECT_THROW(m.register_type<FooBar>("Foo"), mp::ProcessError);  // not started
  json::value handle;
  {
    auto scope = m.enter();  // `with manager:` starts it
    EXPECT_TRUE(m.running());
    m.register_type<FooBar>("Foo");
    auto foo = m.create<FooBar>("Foo");
    EXPECT_EQ(foo.call<&FooBar::f>(), "f()");
    handle = json::value_from(foo);
  }
  EXPECT_FALSE(m.running());
  auto after = json::value_to<mp::ObjectProxy<FooBar>>(handle);
  EXPECT_THROW(after.call<&FooBar::f>(), mp::ValueError);  // the object went with the manager
  // Pre-started: entering does not start it again.
  mp::Manager pre;
  {
    auto scope = pre.enter();
    EXPECT_TRUE(pre.running());
  }
  EXPECT_FALSE(pre.running());
}

// ---- MG-15: remote managers ----

TEST(ManagerRemote, MG15_ConnectByAddressFromAnotherProcess) {
  mp::Manager m(mp::ManagerOptions{unique_name("mg15"), "secret-key", std::chrono::seconds(120)});
  auto q = m.Queue<json::value>();
  m.register_object("get_queue", q);
  mp::Process p(mg15_putter, m.address(), std::string("secret-key"));
  p.start();
  auto client = mp::Manager::connect(m.address(), "secret-key");
  auto queue = client.get<mp::Queue<json::value>>("get_queue");
  EXPECT_EQ(queue.get(60s), (json::array{"hello world", nullptr, true, 2.25}));
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  // A client creates objects in the remote manager's registry.
  const auto before = m.number_of_objects();
  auto remote_dict = client.dict<std::string, int>();
  remote_dict["x"] = 1;
  EXPECT_EQ(m.number_of_objects(), before + 1);
  EXPECT_THROW(client.get<mp::Queue<int>>("nothing"), mp::AttributeError);
  EXPECT_THROW(mp::Manager::connect(m.address(), "wrong"), mp::AuthenticationError);
  EXPECT_THROW(mp::Manager::connect(m.address() + "-none", "secret-key"), mp::OSError);
  EXPECT_THROW(mp::Manager::connect("no-hash-here", "k"), mp::ValueError);
  EXPECT_THROW(mp::Manager::connect("otherhost:1#x", "k"), mp::ConfigError);
  client.shutdown();  // a client only disconnects
  EXPECT_TRUE(m.running());
  EXPECT_EQ(remote_dict.at("x"), 1);
}

// args: redis config (JSON), address, authkey. Another driver (its own session on the same
// Redis) connects and puts into the registered queue.
LITHOPS_SCENARIO(mg15_remote_driver) {
  mp::config::set_parameter(mp::config::LITHOPS_CONFIG,
                            json::object{{"redis", json::parse(args.at(0))}});
  auto client = mp::Manager::connect(args.at(1), args.at(2));
  client.get<mp::Queue<json::value>>("get_queue").put(json::array{"from", "another", "driver"});
  return 0;
}

TEST(ManagerRemote, MG15_ConnectFromAnotherDriver) {
  mp::Manager m(mp::ManagerOptions{unique_name("mg15-driver"), "k2", std::chrono::seconds(120)});
  auto q = m.Queue<json::value>();
  m.register_object("get_queue", q);
  const std::string redis = json::serialize(mp::detail::Runtime::get().config().at("redis"));
  auto run = lithops::test::run_scenario("mg15_remote_driver", {redis, m.address(), "k2"});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(q.get(30s), (json::array{"from", "another", "driver"}));
  run = lithops::test::run_scenario("mg15_remote_driver", {redis, m.address(), "bad"});
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.output.find("authkey"), std::string::npos) << run.output;
}

TEST(ManagerRemote, MG15_RapidRestartOnTheSameAddress) {
  const std::string name = unique_name("mg15-restart");
  std::string address;
  {
    mp::Manager first(mp::ManagerOptions{name, "k", std::chrono::seconds(120)});
    address = first.address();
    auto d = first.dict<std::string, int>();
    d["a"] = 1;
    // The address is taken while it runs.
    EXPECT_THROW(mp::Manager(mp::ManagerOptions{name, "k", std::chrono::seconds(120)}),
                 mp::ProcessError);
    first.shutdown();
    EXPECT_THROW(mp::Manager::connect(address, "k"), mp::OSError);
  }
  for (int i = 0; i < 3; ++i) {
    mp::Manager again(mp::ManagerOptions{name, "k", std::chrono::seconds(120)});
    EXPECT_EQ(again.address(), address);
    auto client = mp::Manager::connect(address, "k");
    EXPECT_TRUE(client.running());
  }
}

// ---- MG-16: start(initializer) ----

TEST(ManagerInit, MG16_InitializerRunsOnce) {
  mp::Manager other;
  auto ns = other.Namespace();
  ns.set("test", 0);
  mp::Manager m(mp::Manager::deferred);
  m.start(mg16_initializer, ns);
  EXPECT_TRUE(m.running());
  EXPECT_EQ(ns.get<int>("test"), 1);
  EXPECT_THROW(m.start(mg16_initializer, ns), mp::ProcessError);  // already started
  EXPECT_EQ(ns.get<int>("test"), 1);
  m.shutdown();
  EXPECT_THROW(m.start(), mp::ProcessError);
}

// ---- MG-17: reference counting ----

TEST(ManagerRefcount, MG17_ReleasedProxiesLeaveNoObjects) {
  mp::Manager m;
  {
    auto d = m.dict<std::string, int>();
    d["a"] = 1;
    auto l = m.list<int>({1, 2});
    auto s = m.set<int>({1});
    auto ns = m.Namespace();
    ns.set("x", 1);
    auto v = m.Value<int>(3);  // a Value and its Lock: one object
    auto q = m.Queue<int>();
    q.put(1);
    EXPECT_EQ(m.number_of_objects(), 6u);
    auto copy = d;  // copies share the reference
    EXPECT_EQ(m.number_of_objects(), 6u);
  }
  EXPECT_EQ(m.number_of_objects(), 0u);
  EXPECT_TRUE(m.keys().empty());
}

TEST(ManagerRefcount, MG17_ContainersHoldTheirItems) {
  mp::Manager m;
  {
    auto outer = m.dict<std::string, mp::DictProxy<std::string, int>>();
    {
      auto inner = m.dict<std::string, int>();
      inner["k"] = 7;
      outer["supplies"] = inner;
    }  // the local name is gone; the container keeps it alive (MG-08)
    EXPECT_EQ(m.number_of_objects(), 2u);
    EXPECT_EQ(outer.at("supplies").at("k"), 7);
    auto lists = m.list<mp::ListProxy<int>>();
    lists.append(m.list<int>({1}));
    EXPECT_EQ(m.number_of_objects(), 4u);
  }  // releasing the containers releases what they hold
  EXPECT_EQ(m.number_of_objects(), 0u);
}

TEST(ManagerRefcount, MG17_WorkerHandlesAreCountedAndReleased) {
  mp::Manager m;
  auto d = m.dict<std::string, int>();
  mp::Process p(mg17_child, d);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(d.at("child"), 1);
  // The worker's handle is released; the copy serialised for the Process holds its reference
  // until shutdown (see docs/manager.md), so the dict is still there.
  EXPECT_EQ(m.number_of_objects(), 1u);
  m.shutdown();
  EXPECT_FALSE(d.contains("child"));
}

TEST(ManagerRefcount, MG17_ThreadsCreatingAtOnceGetSeparateObjects) {
  // Each creation is its own registry entry even when threads create through one manager at once
  // (a handle one thread drops must not keep, or take down, another thread's object).
  constexpr int kThreads = 4, kEach = 10;
  mp::Manager m;
  std::vector<std::vector<mp::DictProxy<std::string, int>>> kept(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto d = m.dict<std::string, int>();
        d["i"] = i;
        if (i % 2 == 0) kept[t].push_back(d);  // the odd ones are dropped at once
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(m.number_of_objects(), static_cast<std::size_t>(kThreads * kEach / 2));
  for (int t = 0; t < kThreads; ++t) {
    for (std::size_t i = 0; i < kept[t].size(); ++i) {
      EXPECT_EQ(kept[t][i].at("i"), static_cast<int>(2 * i));
    }
  }
  kept.clear();
  EXPECT_EQ(m.number_of_objects(), 0u);
}
