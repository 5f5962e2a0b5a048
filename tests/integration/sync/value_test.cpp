// Value and Array (conformance section 8).
// VA-04 / AR-05 (invalid typecode -> TypeError) are compile-time errors in C++: Value<T> and
// Array<T> static_assert on T, so there is nothing to run. Not ported: SC-01/02's Structure and
// 'c'-array `.value` parts (no ctypes structures; Value<std::string> stands in for byte strings),
// SC-03 (ctypes copy), VA-05/AR-06 (TestSyncManagerTypes: manager-only).
#include <gtest/gtest.h>

#include <cmath>
#include <mutex>
#include <numeric>
#include <stdexcept>

#include <lithops/multiprocessing.hpp>

#include "sync_test_util.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;

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

void sc_double(mp::Value<int> x, mp::Value<double> y, mp::Value<long long> z, mp::Array<double> arr,
               mp::Value<std::string> s) {
  x.set(x.value() * 2);
  y.set(y.value() * 2);
  z.set(z.value() * 2);
  auto v = arr.to_vector();
  for (auto& e : v) e *= 2;
  arr.assign(v);
  s.set(s.value() + s.value());
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
LITHOPS_FUNCTION(va_lock_identity);

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

TEST(SharedCTypes, SC01_ChildDoublesEverything) {
  mp::Value<int> x(7);
  mp::Value<double> y(1.0 / 3.0);
  mp::Value<long long> z(1LL << 33);
  std::vector<double> r(10);
  std::iota(r.begin(), r.end(), 0.0);
  mp::Array<double> arr(r);
  mp::Value<std::string> s("hello");
  mp::Process p(sc_double, x, y, z, arr, s);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(x.value(), 14);
  EXPECT_EQ(y.value(), 2.0 / 3.0);
  EXPECT_EQ(z.value(), 1LL << 34);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(arr.get(i), 2.0 * static_cast<double>(i));
  EXPECT_EQ(s.value(), "hellohello");
}

TEST(SharedCTypes, SC02_Synchronized) {
  mp::RLock lock;
  mp::Value<int> x(7, lock);
  mp::Value<double> y(1.0 / 3.0, lock);
  mp::Value<long long> z(1LL << 33, lock);
  mp::Array<double> arr(std::vector<double>{0, 1, 2}, lock);
  mp::Value<std::string> s("hello", lock);
  mp::Process p(sc_double, x, y, z, arr, s);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(x.value(), 14);
  EXPECT_EQ(arr.to_vector(), (std::vector<double>{0, 2, 4}));
}
