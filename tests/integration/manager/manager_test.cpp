// Manager containers in one process: _TestContainers (MG-01..09), the atomic helpers, and the
// manager's ownership of its keys (MG-17, "Manager shutdown makes its keys go away").
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <lithops/multiprocessing.hpp>

#include "runtime.hpp"

namespace mp = lithops::multiprocessing;
namespace json = boost::json;

namespace {
// Every key of the session (SCAN), for the "keys go away" checks.
std::set<std::string> session_keys() {
  auto& rt = mp::detail::Runtime::get();
  std::set<std::string> out;
  std::string cursor = "0";
  const std::string match = rt.prefix() + "*";
  do {
    auto r = rt.store().run({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
    cursor = r.elements[0].str;
    for (auto& k : r.elements[1].elements) out.insert(k.str);
  } while (cursor != "0");
  return out;
}
}  // namespace

// MG-01: manager list: slicing, extend, *=, +, and proxies held in lists are references, not
// copies.
TEST(ManagerList, MG01_ListBasics) {
  mp::Manager m;
  auto a = m.list<int>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_EQ(a.copy(), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_TRUE(m.list<int>().copy().empty());
  auto b = m.list<int>();
  b.extend({0, 1, 2, 3, 4});
  EXPECT_EQ(b.slice(2, 10), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(b.slice(-2), (std::vector<int>{3, 4}));
  EXPECT_EQ(b.slice(3, 1), std::vector<int>{});
  EXPECT_EQ(static_cast<int>(b[-1]), 4);
  b *= 2;
  EXPECT_EQ(b.copy(), (std::vector<int>{0, 1, 2, 3, 4, 0, 1, 2, 3, 4}));
  // A list of proxies holds proxies: references, not copies.
  auto e = m.list<mp::ListProxy<int>>(std::vector{b});
  EXPECT_EQ(e.at(0).copy(), b.copy());
  auto f = m.list<mp::ListProxy<int>>(std::vector{a});
  a.append(10);
  EXPECT_EQ(f.at(0).size(), 11u);
  EXPECT_EQ(f.at(0).at(-1), 10);
}

TEST(ManagerList, MG02_MutableSequenceOperations) {
  mp::Manager m;
  auto l = m.list<std::string>({"a", "b", "c"});
  l.insert(1, "x");
  l.insert(-100, "first");
  l.insert(100, "last");
  EXPECT_EQ(l.copy(), (std::vector<std::string>{"first", "a", "x", "b", "c", "last"}));
  EXPECT_EQ(l.pop(2), "x");
  EXPECT_EQ(l.pop(), "last");
  EXPECT_EQ(l.pop(0), "first");
  EXPECT_THROW(l.pop(10), mp::IndexError);
  l.remove("b");
  EXPECT_THROW(l.remove("zz"), mp::ValueError);
  EXPECT_EQ(l.index("c"), 1u);
  EXPECT_THROW(l.index("zz"), mp::ValueError);
  EXPECT_TRUE(l.contains("a"));
  l[0] = "A";
  EXPECT_EQ(l.at(0), "A");
  EXPECT_THROW(l[5] = "no", mp::IndexError);
  EXPECT_THROW(l.at(5), mp::IndexError);
  l.erase(0);
  EXPECT_EQ(l.copy(), std::vector<std::string>{"c"});
  l.clear();
  EXPECT_EQ(l.size(), 0u);
  EXPECT_THROW(l.pop(), mp::IndexError);

  auto n = m.list<int>({3, 1, 2, 3});
  n.sort();
  EXPECT_EQ(n.copy(), (std::vector<int>{1, 2, 3, 3}));
  n.reverse();
  EXPECT_EQ(n.copy(), (std::vector<int>{3, 3, 2, 1}));
  EXPECT_EQ(n.count(3), 2u);
  EXPECT_EQ(n.count(7), 0u);
  n += std::vector<int>{9};
  std::vector<int> seen;
  for (int v : n) seen.push_back(v);
  EXPECT_EQ(seen, (std::vector<int>{3, 3, 2, 1, 9}));
}

TEST(ManagerList, MG03_LiveIterationSeesWrites) {
  mp::Manager m;
  auto a = m.list<int>({0, 1, 2});
  auto it = a.iter();
  a[0] = 100;
  EXPECT_EQ(it.next(), 100);
  EXPECT_EQ(it.next(), 1);
  EXPECT_EQ(it.next(), 2);
  EXPECT_EQ(it.next(), std::nullopt);
  EXPECT_EQ(it.next(), std::nullopt);
}

TEST(ManagerList, MG04_ListProxyInList) {
  mp::Manager m;
  auto a = m.list<mp::ListProxy<int>>();
  for (int i = 0; i < 3; ++i) a.append(m.list<int>({0, 1, 2}));
  a.at(0)[-1] = 55;
  EXPECT_EQ(a.at(0).copy(), (std::vector<int>{0, 1, 55}));
  for (int i = 1; i < 3; ++i) EXPECT_EQ(a.at(i).copy(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(a.at(1).pop(), 2);
  EXPECT_EQ(a.at(0).size(), 3u);
  EXPECT_EQ(a.at(2).size(), 3u);
  // A list containing itself does not crash.
  auto b = m.list<json::value>();
  b.append(json::value_from(b));
  auto inner = json::value_to<mp::ListProxy<json::value>>(b.at(0));
  EXPECT_EQ(inner.size(), 1u);
}

TEST(ManagerDict, MG05_DictMatchesLocal) {
  mp::Manager m;
  auto d = m.dict<int, std::string>();
  std::vector<std::pair<int, std::string>> local;
  for (int i = 65; i < 70; ++i) {
    d[i] = std::string(1, static_cast<char>(i));
    local.emplace_back(i, std::string(1, static_cast<char>(i)));
  }
  EXPECT_EQ(d.copy(), local);
  EXPECT_EQ(d.items(), local);
  EXPECT_EQ(d.keys(), (std::vector<int>{65, 66, 67, 68, 69}));
  EXPECT_EQ(d.values(), (std::vector<std::string>{"A", "B", "C", "D", "E"}));
  std::vector<std::pair<int, std::string>> seen;
  for (const auto& kv : d) seen.push_back(kv);
  EXPECT_EQ(seen, local);
}

TEST(ManagerDict, MG06_MutableMappingOperations) {
  mp::Manager m;
  auto d = m.dict<std::string, int>(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  EXPECT_TRUE(d.contains("a"));
  EXPECT_EQ(d.get("zz"), std::nullopt);
  EXPECT_EQ(d.get("zz", 7), 7);
  EXPECT_THROW(static_cast<int>(d["zz"]), mp::KeyError);
  d.del("a");
  EXPECT_THROW(d.del("a"), mp::KeyError);
  EXPECT_FALSE(d.erase("a"));
  EXPECT_EQ(d.setdefault("c", 3), 3);
  EXPECT_EQ(d.setdefault("c", 4), 3);
  d.update({{"bar", 6}});
  EXPECT_EQ(d.popitem(), (std::pair<std::string, int>{"bar", 6}));
  EXPECT_EQ(d.pop("b"), 2);
  EXPECT_THROW(d.pop("b"), mp::KeyError);
  EXPECT_EQ(d.pop("b", -1), -1);
  EXPECT_EQ(d.size(), 1u);
  d.clear();
  EXPECT_TRUE(d.empty());
  EXPECT_THROW(d.popitem(), mp::KeyError);
}

TEST(ManagerDict, MG07_IterationOrderAndSizeChange) {
  mp::Manager m;
  auto d = m.dict<std::string, int>();
  for (const char* k : {"z", "a", "m", "b"}) d[k] = 1;
  d["a"] = 2;  // replacing keeps the position
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"z", "a", "m", "b"}));
  auto it = d.iter();
  EXPECT_EQ(it.next(), "z");
  d.clear();
  EXPECT_THROW(it.next(), mp::RuntimeError);
  auto d2 = m.dict<int, int>(std::map<int, int>{{1, 1}});
  auto it2 = d2.iter();
  EXPECT_EQ(it2.next(), 1);
  EXPECT_EQ(it2.next(), std::nullopt);
}

TEST(ManagerDict, MG08_DictProxyNested) {
  mp::Manager m;
  auto pets = m.dict<std::string, int>(std::map<std::string, int>{{"Marley", 5}});
  auto supplies = m.dict<std::string, int>(std::map<std::string, int>{{"water", 10}});
  auto d = m.dict<std::string, mp::DictProxy<std::string, int>>();
  d["pets"] = pets;
  d["supplies"] = supplies;
  d.at("supplies")["water"] = 7;
  EXPECT_EQ(supplies.at("water"), 7);
  pets["Fluffy"] = 3;
  EXPECT_EQ(d.at("pets").at("Fluffy"), 3);
  d.clear();  // proxies still held stay usable
  EXPECT_EQ(pets.at("Marley"), 5);
  // A manager list of dict proxies.
  auto l = m.list<mp::DictProxy<std::string, int>>(std::vector{pets, supplies});
  l.at(1)["food"] = 1;
  EXPECT_EQ(supplies.at("food"), 1);
  // A plain nested container stays plain.
  auto plain = m.dict<std::string, std::vector<int>>();
  plain["v"] = std::vector<int>{1, 2};
  EXPECT_EQ(plain.at("v"), (std::vector<int>{1, 2}));
}

// MG-09: manager Namespace: set, get and del attributes; _names stay local to the proxy.
TEST(ManagerNamespace, MG09_Namespace) {
  mp::Manager m;
  auto n = m.Namespace();
  n.set("name", std::string("Bob"));
  n.set("job", std::string("Builder"));
  n.set("_hidden", std::string("America"));
  EXPECT_EQ(n.get<std::string>("name"), "Bob");
  n.del("job");
  EXPECT_EQ(n.repr(), "Namespace(name=\"Bob\")");
  EXPECT_FALSE(n.has("job"));
  EXPECT_THROW(n.get<std::string>("job"), mp::AttributeError);
  EXPECT_THROW(n.del("job"), mp::AttributeError);
  EXPECT_EQ(n.get<std::string>("_hidden"), "America");
  // The '_' name stays with this handle.
  auto copy = json::value_to<mp::NamespaceProxy>(json::value_from(n));
  EXPECT_FALSE(copy.has("_hidden"));
  EXPECT_EQ(copy.get<std::string>("name"), "Bob");
}

TEST(ManagerDict, IncrHelpersAreExact) {
  mp::Manager m;
  auto d = m.dict<std::string, long long>();
  EXPECT_EQ(d.incr("n"), 1);
  EXPECT_EQ(d.incr("n", 41), 42);
  d["n"] += 8;
  EXPECT_EQ(d.at("n"), 50);
  EXPECT_EQ(d.keys(), std::vector<std::string>{"n"});
  auto f = m.dict<std::string, double>();
  f["x"] = 1.5;
  EXPECT_DOUBLE_EQ(f.incr("x", 1.0), 2.5);
  EXPECT_DOUBLE_EQ(f.incr("y", 0.25), 0.25);
  EXPECT_DOUBLE_EQ(f.at("x"), 2.5);
}

TEST(Manager, MG17_ShutdownMakesItsKeysGoAway) {
  std::set<std::string> before = session_keys();
  mp::Manager m;
  auto d = m.dict<std::string, int>();
  d["a"] = 1;
  d.incr("b", 2);
  auto l = m.list<int>({1, 2, 3});
  auto ns = m.Namespace();
  ns.set("x", 1);
  auto q = m.Queue<int>(2);
  q.put(1);
  auto jq = m.JoinableQueue<int>();
  jq.put(1);
  auto lock = m.Lock();
  lock.acquire();
  auto rlock = m.RLock();
  rlock.acquire();
  rlock.release();
  auto sem = m.Semaphore(2);
  sem.acquire();
  auto cond = m.Condition();
  auto ev = m.Event();
  ev.set();
  auto bar = m.Barrier(2);
  auto val = m.Value<int>(3);
  val += 1;
  auto arr = m.Array<int>(std::vector<int>{1, 2});
  EXPECT_GT(m.number_of_objects(), 10u);
  std::set<std::string> during = session_keys();
  EXPECT_GT(during.size(), before.size() + 10);
  lock.release();
  m.shutdown();
  EXPECT_FALSE(m.running());
  EXPECT_THROW((m.dict<int, int>()), mp::ProcessError);
  EXPECT_THROW(m.start(), mp::ProcessError);
  std::set<std::string> after = session_keys();
  std::vector<std::string> left;
  for (const auto& k : after) {
    if (!before.count(k)) left.push_back(k);
  }
  EXPECT_TRUE(left.empty()) << "left behind: " << left.size() << ", first: " << left.front();
}

TEST(Manager, ObjectsOutliveTheirHandlesUntilShutdown) {
  mp::Manager m;
  json::value handle;
  {
    auto d = m.dict<std::string, int>();
    d["k"] = 9;
    handle = json::value_from(d);
  }  // the last handle is gone; the manager still owns the dict
  auto again = json::value_to<mp::DictProxy<std::string, int>>(handle);
  EXPECT_EQ(again.at("k"), 9);
  m.shutdown();
  EXPECT_FALSE(again.contains("k"));
}
