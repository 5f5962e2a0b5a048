// Value and Array (conformance section 8).
// VA-04 / AR-05 (invalid typecode -> TypeError) are compile-time errors in C++: Value<T> and
// Array<T> static_assert on T, so there is nothing to run. ctypes Structures are structs described
// with BOOST_DESCRIBE_STRUCT (Value<Foo>), Array('c', n) is Array<char> with value()/set_value(),
// sharedctypes.copy is mp::copy. Not ported here: VA-05/AR-06 (TestSyncManagerTypes: manager-only).
#include <gtest/gtest.h>

#include <cmath>
#include <mutex>
#include <numeric>
#include <stdexcept>

#include <boost/describe.hpp>

#include <lithops/multiprocessing.hpp>

#include "runtime.hpp"
#include "sync_test_util.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;

// SC-01's ctypes Structure `_Foo` (x: int, y: double, z: long long).
struct Foo {
  int x = 0;
  double y = 0;
  long long z = 0;
  bool operator==(const Foo&) const = default;
};
BOOST_DESCRIBE_STRUCT(Foo, (), (x, y, z))

// A struct with members that are not numbers: stored as text / JSON fields.
struct Labelled {
  std::string label;
  std::vector<int> samples;
  Foo inner;
  bool operator==(const Labelled&) const = default;
};
BOOST_DESCRIBE_STRUCT(Labelled, (), (label, samples, inner))

namespace {
void va_assign(mp::Value<int> i, mp::Value<double> d, mp::Value<short> h, mp::Value<long long> q,
               mp::Value<char> c) {
  i.set(24234);
  d.set(-4.25);
  h.set(234);
  q.set(1LL << 34);
  c.set('y');
}

void ar_prefix_sums(mp::Array<int> a) {
  std::lock_guard guard(a.get_lock());
  for (std::size_t i = 1; i < a.size(); ++i) a[i] = a[i - 1] + a[i];
}

void ar_double_raw(mp::Array<int> a) {
  if (a.has_lock()) throw std::runtime_error("a raw array came with a lock");
  auto v = a.to_vector();
  for (auto& e : v) e *= 2;
  a.assign(v);
}

// SC-01's _double: every shared object doubled, with or without its lock (SC-02 passes values
// that have one: each doubling then runs under it, as Python's synchronized wrappers do).
template <class V, class F>
void under_lock(V& v, F&& f) {
  if (!v.has_lock()) return f();
  std::lock_guard guard(v.get_lock());
  f();
}

void sc_double(mp::Value<int> x, mp::Value<double> y, mp::Value<long long> z, mp::Value<Foo> foo,
               mp::Array<double> arr, mp::Array<char> s) {
  under_lock(x, [&] { x.set(x.value() * 2); });
  under_lock(y, [&] { y.set(y.value() * 2); });
  under_lock(z, [&] { z.set(z.value() * 2); });
  // Python: foo.x *= 2; foo.y *= 2 (field by field).
  under_lock(foo, [&] {
    foo.set(&Foo::x, foo.get(&Foo::x) * 2);
    foo.set(&Foo::y, foo.get(&Foo::y) * 2);
  });
  under_lock(arr, [&] {
    auto v = arr.to_vector();
    for (auto& e : v) e *= 2;
    arr.assign(v);
  });
  under_lock(s, [&] { s.set_value(s.value() + s.value()); });
}

void foo_bump(mp::Value<Foo> foo, int times) {
  for (int i = 0; i < times; ++i) {
    foo.fetch_add(&Foo::x, 1);    // atomic per field, no lock
    foo.fetch_add(&Foo::y, 0.5);  // HINCRBYFLOAT
    // A read-modify-write of one field takes the lock. (Writing the whole struct back here would
    // overwrite the lock-free increments of x and y made meanwhile by the others.)
    std::lock_guard guard(foo.get_lock());
    foo.set(&Foo::z, foo.get(&Foo::z) + 2);
  }
}

void va_lock_identity(mp::Value<int> v, mp::RLock lock, mp::Value<int> same) {
  // The value's lock and the lock handed over separately are one Redis object.
  std::lock_guard guard(v.get_lock());
  same.set(lock.locked() && lock.count() == 1 ? 1 : 0);
}
}  // namespace

LITHOPS_FUNCTION(va_assign);
LITHOPS_FUNCTION(ar_prefix_sums);
LITHOPS_FUNCTION(ar_double_raw);
LITHOPS_FUNCTION(sc_double);
LITHOPS_FUNCTION(foo_bump);
LITHOPS_FUNCTION(va_lock_identity);

// VA-01: Value of each type reads back its initial value; a child's assignments are seen by the
// parent.
TEST(Value, VA01_Value) {
  mp::Value<int> i(4343);
  mp::Value<double> d(3.625);
  mp::Value<short> h(-232);
  mp::Value<long long> q(1LL << 33);
  mp::Value<char> c('x');
  EXPECT_EQ(i.value(), 4343);
  EXPECT_EQ(d.value(), 3.625);
  EXPECT_EQ(h.value(), -232);
  EXPECT_EQ(q.value(), 1LL << 33);
  EXPECT_EQ(c.value(), 'x');
  mp::Process p(va_assign, i, d, h, q, c);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(i.value(), 24234);
  EXPECT_EQ(d.value(), -4.25);
  EXPECT_EQ(h.value(), 234);
  EXPECT_EQ(q.value(), 1LL << 34);
  EXPECT_EQ(c.value(), 'y');
}

// VA-02: VA-01 with RawValue.
TEST(Value, VA02_RawValue) {
  auto i = mp::RawValue<int>(4343);
  auto d = mp::RawValue<double>(3.625);
  auto h = mp::RawValue<short>(-232);
  auto q = mp::RawValue<long long>(1LL << 33);
  auto c = mp::RawValue<char>('x');
  EXPECT_FALSE(i.has_lock());
  mp::Process p(va_assign, i, d, h, q, c);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(i.value(), 24234);
  EXPECT_EQ(d.value(), -4.25);
  EXPECT_EQ(c.value(), 'y');
}

// VA-03: get_lock()/get_obj(): default lock, lock=None/a Lock/False; RawValue has neither.
TEST(Value, VA03_GetLock) {
  mp::Value<int> def(0);
  EXPECT_TRUE(def.has_lock());
  def.get_lock().acquire();
  EXPECT_TRUE(def.get_lock().locked());
  def.get_lock().release();

  mp::RLock lock;
  mp::Value<int> shared(5, lock);
  lock.acquire();
  EXPECT_TRUE(shared.get_lock().locked());  // get_lock() is that same lock
  EXPECT_EQ(shared.get_lock().count(), 1);
  lock.release();

  mp::Value<int> other(1, shared.get_lock());
  mp::Value<int> same(0);
  mp::Process p(va_lock_identity, other, lock, same);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(same.value(), 1);

  mp::Value<int> raw(0, mp::no_lock);
  EXPECT_FALSE(raw.has_lock());
  EXPECT_THROW(raw.get_lock(), mp::ValueError);
}

TEST(Value, AtomicHelpers) {
  mp::Value<int> v(10);
  EXPECT_EQ(v.fetch_add(5), 10);
  EXPECT_EQ(v.value(), 15);
  EXPECT_EQ(v.fetch_sub(3), 15);
  EXPECT_EQ(v += 10, 22);
  EXPECT_EQ(v -= 2, 20);
  EXPECT_EQ(++v, 21);
  EXPECT_EQ(--v, 20);
  EXPECT_EQ(v.exchange(7), 20);
  EXPECT_EQ(v.value(), 7);

  mp::Value<double> d(0.5);
  EXPECT_DOUBLE_EQ(d += 0.25, 0.75);
  EXPECT_DOUBLE_EQ(d.fetch_sub(1.0), 0.75);
  EXPECT_DOUBLE_EQ(d.value(), -0.25);
  d.set(1.0 / 3.0);
  EXPECT_EQ(d.value(), 1.0 / 3.0);  // text round trip keeps every bit

  mp::Value<unsigned> u(0);
  u -= 1;
  EXPECT_EQ(u.value(), 0xFFFFFFFFu);  // wraps like a C cast

  mp::Value<std::string> s("hello");
  EXPECT_EQ(s.value(), "hello");
  EXPECT_EQ(s.exchange(std::string("bin\0ary", 7)), "hello");
  EXPECT_EQ(s.value(), std::string("bin\0ary", 7));

  mp::Value<bool> flag(false);
  flag.set(true);
  EXPECT_TRUE(flag.value());
}

TEST(Value, HandleOfAnotherTypeIsRejected) {
  mp::Value<int> v(1);
  auto jv = boost::json::value_from(v);
  EXPECT_THROW(boost::json::value_to<mp::Value<double>>(jv), mp::TypeError);
  EXPECT_THROW(boost::json::value_to<mp::Array<int>>(jv), mp::TypeError);
  EXPECT_EQ(boost::json::value_to<mp::Value<int>>(jv).value(), 1);
}

// AR-01: Array of 10 ints: len, index, slices, slice assignment; a child's prefix sums are seen.
TEST(Array, AR01_Array) {
  std::vector<int> seq{681, -35, 0, 23, 36, 4, 135, -79, 14, 8};
  mp::Array<int> arr(seq);
  EXPECT_EQ(arr.size(), seq.size());
  EXPECT_EQ(static_cast<int>(arr[3]), seq[3]);
  EXPECT_EQ(arr.get(9), seq[9]);
  EXPECT_EQ(arr.slice(2, 7), std::vector<int>(seq.begin() + 2, seq.begin() + 7));
  arr.set_slice(4, {1, 2, 3, 4});
  std::copy_n(std::vector<int>{1, 2, 3, 4}.begin(), 4, seq.begin() + 4);
  EXPECT_EQ(arr.to_vector(), seq);
  EXPECT_EQ(arr.slice(8, 100), std::vector<int>(seq.begin() + 8, seq.end()));  // clamped
  EXPECT_TRUE(arr.slice(7, 3).empty());

  mp::Process p(ar_prefix_sums, arr);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  std::partial_sum(seq.begin(), seq.end(), seq.begin());
  EXPECT_EQ(arr.to_vector(), seq);
  std::vector<int> iterated;
  for (int x : arr) iterated.push_back(x);
  EXPECT_EQ(iterated, seq);
}

TEST(Array, AR02_FromSizeZeroFilled) {
  for (int round = 0; round < 3; ++round) {
    mp::Array<int> arr(std::size_t{10});
    EXPECT_EQ(arr.to_vector(), std::vector<int>(10, 0));
    std::vector<int> r(10);
    std::iota(r.begin(), r.end(), 0);
    arr.assign(r);
    EXPECT_EQ(arr.to_vector(), r);
  }
}

// AR-03: AR-01 with RawArray.
TEST(Array, AR03_RawArray) {
  auto arr = mp::RawArray<int>(std::vector<int>{1, 2, 3, 4});
  EXPECT_FALSE(arr.has_lock());
  mp::Process p(ar_double_raw, arr);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  arr[0] = 9;
  EXPECT_EQ(arr.to_vector(), (std::vector<int>{9, 4, 6, 8}));
}

// AR-04: Array has the lock rules of VA-03 (RawArray has no lock).
TEST(Array, AR04_GetLock) {
  mp::Array<double> a(std::size_t{3});
  EXPECT_TRUE(a.has_lock());
  mp::RLock lock;
  mp::Array<double> b(std::size_t{3}, lock);
  lock.acquire();
  EXPECT_EQ(b.get_lock().count(), 1);
  lock.release();
  mp::Array<double> raw(std::size_t{3}, mp::no_lock);
  EXPECT_THROW(raw.get_lock(), mp::ValueError);
}

TEST(Array, BoundsAreChecked) {
  mp::Array<int> a(std::size_t{4});
  EXPECT_THROW(static_cast<void>(a.get(4)), mp::ValueError);
  EXPECT_THROW(a.set(4, 1), mp::ValueError);
  EXPECT_THROW(a.set_slice(2, {1, 2, 3}), mp::ValueError);
  EXPECT_THROW(a.assign({1, 2}), mp::ValueError);
  EXPECT_EQ(a.to_vector(), std::vector<int>(4, 0));  // nothing half-written
  mp::Array<int> empty(std::vector<int>{});
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_TRUE(empty.to_vector().empty());
}

namespace {
// SC-01 with lock=False (test_sharedctypes) or lock=True (SC-02, test_synchronize).
void sharedctypes_case(bool lock) {
  auto make = [&](auto v) {
    using V = mp::Value<decltype(v)>;
    return lock ? V(v) : V(v, mp::no_lock);
  };
  auto x = make(7);
  auto y = make(1.0 / 3.0);
  auto z = make(1LL << 33);
  auto foo = make(Foo{3, 2, 0});
  std::vector<double> r(10);
  std::iota(r.begin(), r.end(), 0.0);
  auto arr = lock ? mp::Array<double>(r) : mp::Array<double>(r, mp::no_lock);
  auto s = lock ? mp::Array<char>(std::size_t{20}) : mp::Array<char>(std::size_t{20}, mp::no_lock);
  s.set_value("hello");
  EXPECT_EQ(x.has_lock(), lock);
  EXPECT_EQ(foo.has_lock(), lock);
  EXPECT_EQ(s.has_lock(), lock);

  mp::Process p(sc_double, x, y, z, foo, arr, s);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(x.value(), 14);
  EXPECT_EQ(y.value(), 2.0 / 3.0);
  EXPECT_EQ(z.value(), 1LL << 34);
  EXPECT_EQ(foo.get(&Foo::x), 6);
  EXPECT_EQ(foo.get(&Foo::y), 4.0);
  EXPECT_EQ(foo.value(), (Foo{6, 4.0, 0}));
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(arr.get(i), 2.0 * static_cast<double>(i));
  EXPECT_EQ(s.value(), "hellohello");
  EXPECT_EQ(s.raw().size(), 20u);
}
}  // namespace

TEST(SharedCTypes, SC01_ChildDoublesEverything) { sharedctypes_case(false); }

// SC-02: SC-01 (a child doubles every field of shared ctypes) with lock=True.
TEST(SharedCTypes, SC02_Synchronized) { sharedctypes_case(true); }

// SC-03: copy() of a shared struct is independent: changing the original leaves the copy unchanged.
TEST(SharedCTypes, SC03_Copy) {
  // Python copies a plain Structure into shared memory; C++ also copies a shared Value.
  mp::Value<Foo> foo(Foo{2, 5.0, 1LL << 33});
  auto bar = mp::copy(foo);
  auto baz = mp::copy(Foo{2, 5.0, 1LL << 33});
  EXPECT_FALSE(bar.has_lock());  // as sharedctypes.copy: a raw object
  foo.set(Foo{0, 0, 0});
  EXPECT_EQ(bar.value(), (Foo{2, 5.0, 1LL << 33}));
  EXPECT_EQ(baz.value(), (Foo{2, 5.0, 1LL << 33}));
  EXPECT_EQ(foo.value(), (Foo{0, 0, 0}));
  bar.set(&Foo::x, 9);  // and the other way round
  EXPECT_EQ(foo.get(&Foo::x), 0);

  mp::Value<double> d(1.5);
  auto d2 = mp::copy(d);
  d += 1.0;
  EXPECT_EQ(d2.value(), 1.5);

  mp::Array<int> a(std::vector<int>{1, 2, 3});
  auto a2 = mp::copy(a);
  a[0] = 100;
  EXPECT_EQ(a2.to_vector(), (std::vector<int>{1, 2, 3}));
}

TEST(SharedCTypes, StructFieldsAndWholeStruct) {
  mp::Value<Foo> foo(Foo{1, 0.25, -5});
  EXPECT_EQ(foo.value(), (Foo{1, 0.25, -5}));
  EXPECT_EQ(foo.get(&Foo::z), -5);
  foo.set(&Foo::y, 1.0 / 3.0);
  EXPECT_EQ(foo.get(&Foo::y), 1.0 / 3.0);  // every bit survives the text form
  EXPECT_EQ(foo.fetch_add(&Foo::x, 41), 1);
  EXPECT_EQ(foo.fetch_sub(&Foo::z, 5), -5);
  EXPECT_DOUBLE_EQ(foo.fetch_add(&Foo::y, 0.5), 1.0 / 3.0);
  EXPECT_EQ(foo.get(&Foo::x), 42);
  EXPECT_EQ(foo.get(&Foo::z), -10);

  // A handle of a struct value: attaches as that struct only.
  auto jv = boost::json::value_from(foo);
  EXPECT_THROW(boost::json::value_to<mp::Value<Labelled>>(jv), mp::TypeError);
  EXPECT_THROW(boost::json::value_to<mp::Value<int>>(jv), mp::TypeError);
  EXPECT_EQ(boost::json::value_to<mp::Value<Foo>>(jv).get(&Foo::x), 42);

  // Members that are not numbers are stored as text or JSON.
  const Labelled l{"probe \"7\"", {1, 2, 3}, Foo{4, 5.5, 6}};
  mp::Value<Labelled> lv(l);
  EXPECT_EQ(lv.value(), l);
  lv.set(&Labelled::samples, std::vector<int>{9});
  EXPECT_EQ(lv.get(&Labelled::samples), std::vector<int>{9});
  EXPECT_EQ(lv.get(&Labelled::inner), (Foo{4, 5.5, 6}));

  // Arrays of described structs: one JSON element each.
  mp::Array<Foo> fa(std::vector<Foo>{Foo{1, 1, 1}, Foo{2, 2, 2}});
  fa[1] = Foo{3, 3, 3};
  EXPECT_EQ(fa.to_vector(), (std::vector<Foo>{Foo{1, 1, 1}, Foo{3, 3, 3}}));
  EXPECT_EQ(static_cast<Foo>(fa[0]), (Foo{1, 1, 1}));
}

TEST(SharedCTypes, StructFieldUpdatesAcrossProcessesAreAtomic) {
  constexpr int kProcs = 4, kTimes = 50;
  mp::Value<Foo> foo(Foo{0, 0, 0});
  std::vector<mp::Process> procs;
  for (int i = 0; i < kProcs; ++i) procs.emplace_back(foo_bump, foo, kTimes);
  lithops::test::run_all(procs);
  EXPECT_EQ(foo.value(), (Foo{kProcs * kTimes, 0.5 * kProcs * kTimes, 2LL * kProcs * kTimes}));
}

TEST(SharedCTypes, CharArrayValue) {
  mp::Array<char> s(std::size_t{5});
  EXPECT_EQ(s.value(), "");
  s.set_value("abcde");  // fills it exactly: no room for, and no need of, a NUL
  EXPECT_EQ(s.value(), "abcde");
  s.set_value("xy");  // as ctypes: writes "xy\0", the rest stays
  EXPECT_EQ(s.value(), "xy");
  EXPECT_EQ(s.raw(), std::string("xy\0de", 5));
  try {
    s.set_value("toolong");
    ADD_FAILURE() << "no error for a string longer than the array";
  } catch (const mp::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("too long"), std::string::npos) << e.what();
  }
  EXPECT_EQ(s.value(), "xy");
}

TEST(SharedCTypes, EveryKeyCarriesTheExpiryTime) {
  // REDIS_EXPIRY_TIME is read when a session starts: end the session this process may have (an
  // earlier test, --gtest_repeat), configure the value under test, and start a new one with it.
  // The TTLs are compared with this configured value, not with what the store says of itself.
  constexpr long long kExpiry = 97;
  const long long before = lithops::test::restart_session_with_expiry(kExpiry);
  auto& store = mp::detail::Runtime::get().store();
  mp::Value<int> i(0);
  mp::Value<double> d(0.5, mp::no_lock);
  mp::Value<Foo> foo(Foo{1, 2, 3});
  mp::Array<Foo> fa(std::vector<Foo>{Foo{}, Foo{}});
  mp::Array<char> s(std::size_t{8});
  i += 5;
  d += 1.0;
  foo.fetch_add(&Foo::x, 1);
  foo.fetch_add(&Foo::y, 1.0);
  std::lock_guard guard(foo.get_lock());  // the lock's key exists while held
  s.set_value("abc");
  const std::vector<std::string> keys{i.ref().key(), d.ref().key(), foo.ref().key(), fa.ref().key(),
                                      s.ref().key()};
  // Set moments ago (or refreshed since): within the configured expiry, and not much below it.
  for (const auto& k : keys) {
    const long long ttl = store.run({"TTL", k}).integer;
    EXPECT_LE(ttl, kExpiry) << k;
    EXPECT_GE(ttl, kExpiry - 30) << k << (ttl < 0 ? " has no expiry" : "");
  }
  // A held lock's key lives for its lease (shorter), never beyond the expiry.
  const long long lock_ttl = store.run({"TTL", foo.get_lock().ref().key()}).integer;
  EXPECT_GT(lock_ttl, 0) << "the held lock has no expiry";
  EXPECT_LE(lock_ttl, kExpiry);

  // A key an increment had to create again (deleted by its owner while another handle still
  // increments) gets its expiry too.
  for (int round = 0; round < 2; ++round) {
    auto other = boost::json::value_to<mp::Value<int>>(boost::json::value_from(i));
    auto other_foo = boost::json::value_to<mp::Value<Foo>>(boost::json::value_from(foo));
    other += 1;  // first use of the handle: EXPIRE pipelined
    other_foo.fetch_add(&Foo::z, 1);
    store.run({"DEL", i.ref().key(), foo.ref().key()});
    EXPECT_EQ(other += 3, 3);  // starts again from the delta (the value was gone)
    EXPECT_EQ(other_foo.fetch_add(&Foo::z, 3), 0);
    for (const auto& k : {i.ref().key(), foo.ref().key()}) {
      const long long ttl = store.run({"TTL", k}).integer;
      EXPECT_GT(ttl, 0) << k << " was created by an increment without an expiry";
      EXPECT_LE(ttl, kExpiry) << k;
      EXPECT_GE(ttl, kExpiry - 30) << k;
    }
    EXPECT_THROW(foo.value(), mp::ValueError);  // the other fields are gone
    foo.set(Foo{1, 2, 3});
    i.set(0);
  }
  mp::config::set_parameter(mp::config::REDIS_EXPIRY_TIME, before);  // for the next session
}
