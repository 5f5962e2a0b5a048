// mp::Value<T>: one shared value (Python's multiprocessing.Value), stored as one Redis string.
//
//   mp::Value<int> counter(0);                 // with a new RLock, as Value('i', 0)
//   mp::Value<double> x(1.5, mp::no_lock);     // Value('d', 1.5, lock=False): no get_lock()
//   mp::Value<int> y(0, counter.get_lock());   // Value('i', 0, lock=<that lock>)
//   counter += 1;                              // one atomic INCRBY, no lock needed
//   { std::lock_guard g(counter.get_lock()); counter.set(counter.value() * 2); }
//   mp::Value<int> snapshot = mp::copy(counter);  // sharedctypes.copy: a new, independent value
//
// T is an arithmetic type (bool, char, integers, floating point), std::string, or a struct
// described with BOOST_DESCRIBE_STRUCT (Python's ctypes Structure; see value_struct.hpp). C++
// types replace Python's typecodes, so an invalid typecode (Python's TypeError, VA-04) is a
// compile-time error here. A handle like every shared object: copy it, pass it to a Process or
// Pool task, send it through a Queue; a handle attached as a Value of another T raises
// mp::TypeError.
//
// Atomicity: value(), set(), exchange() and the arithmetic helpers (fetch_add, fetch_sub, +=, -=,
// ++, --) are each one Redis command executed atomically on the server, in one round trip, and
// do not take the lock. Integers are added with INCRBY on a 64-bit signed server value (read back
// converted to T, wrapping like a C cast); floating point with INCRBYFLOAT (long double on the
// server). Read-modify-write sequences of several calls need get_lock().
//
// Expiry: set() and exchange() write the key with REDIS_EXPIRY_TIME. INCRBY keeps a key's TTL, so
// an increment sends its EXPIRE along (pipelined, same round trip) only when the handle has not
// refreshed the key for a tenth of REDIS_EXPIRY_TIME; a key written without pause never expires,
// and one left alone expires 0.9 to 1 REDIS_EXPIRY_TIME after its last write.
//
// Every call raises mp::OSError if the store is unreachable and mp::ValueError if the value's key
// is gone (deleted by its owner, or expired after REDIS_EXPIRY_TIME without writes); an increment
// of a gone key cannot tell it from a value of 0 and starts it again from the delta (with its
// expiry, so nothing outlives REDIS_EXPIRY_TIME).
#pragma once

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

#include <boost/describe/members.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/lock.hpp"

namespace lithops::multiprocessing {

// Value(v, mp::no_lock) / Array(n, mp::no_lock): Python's lock=False.
struct NoLock {};
inline constexpr NoLock no_lock{};

namespace detail {

template <class T>
inline constexpr bool is_shared_scalar = std::is_arithmetic_v<T> || std::is_same_v<T, std::string>;

// A struct described with BOOST_DESCRIBE_STRUCT: Value<T> stores it as a hash, Array<T> each
// element as JSON text.
template <class T>
inline constexpr bool is_described_struct =
    std::is_class_v<T>&& boost::describe::has_describe_members<T>::value;

// How a T is spelled in Redis and in handles: arithmetic types and strings as text (so
// INCRBY / INCRBYFLOAT work on them), anything else (described structs, containers) as JSON.
template <class T>
struct Codec {
  static std::string type_name() {
    if constexpr (std::is_same_v<T, std::string>) {
      return "str";
    } else if constexpr (std::is_same_v<T, bool>) {
      return "bool";
    } else if constexpr (std::is_same_v<T, char>) {
      return "char";
    } else if constexpr (std::is_floating_point_v<T> || std::is_integral_v<T>) {
      // Appended, not `"i" + std::to_string(...)`: GCC 12 reports a false -Wrestrict for that
      // operator+ at -O3, which would break a user's -Werror build.
      std::string name(1, std::is_floating_point_v<T> ? 'f' : std::is_signed_v<T> ? 'i' : 'u');
      name += std::to_string(sizeof(T) * 8);
      return name;
    } else {
      // Workers run the same executable, so the mangled name is the same on both ends.
      return std::string("struct:") + typeid(T).name();
    }
  }
  static std::string encode(const T& v) {
    if constexpr (std::is_same_v<T, std::string>) {
      return v;
    } else if constexpr (std::is_floating_point_v<T>) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17Lg", static_cast<long double>(v));
      return buf;
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      return std::to_string(static_cast<long long>(v));
    } else if constexpr (std::is_integral_v<T>) {
      return std::to_string(static_cast<unsigned long long>(v));
    } else {
      return boost::json::serialize(boost::json::value_from(v));
    }
  }
  static T decode(const std::string& s) {
    if constexpr (std::is_same_v<T, std::string>) {
      return s;
    } else if constexpr (std::is_floating_point_v<T>) {
      return static_cast<T>(std::strtold(s.c_str(), nullptr));
    } else if constexpr (std::is_same_v<T, bool>) {
      return s != "0";
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      return static_cast<T>(std::strtoll(s.c_str(), nullptr, 10));
    } else if constexpr (std::is_integral_v<T>) {
      // INCRBY may have taken an unsigned value below zero: reinterpret, as a C cast would.
      if (!s.empty() && s[0] == '-') return static_cast<T>(std::strtoll(s.c_str(), nullptr, 10));
      return static_cast<T>(std::strtoull(s.c_str(), nullptr, 10));
    } else {
      return boost::json::value_to<T>(boost::json::parse(s));
    }
  }
};

// value.cpp. `lock` is the lock's handle, or null for no lock.
ObjectRef value_create(std::string_view type, const std::string& initial, boost::json::value lock);
std::string value_get(const ObjectRef& ref);
void value_set(const ObjectRef& ref, std::string_view v);
std::string value_exchange(const ObjectRef& ref, std::string_view v);
long long value_add_int(const ObjectRef& ref, long long delta);
std::string value_add_float(const ObjectRef& ref, long double delta);
// Attaching: checks kind and element type; returns the ref and its lock, if it has one.
ObjectRef attach_typed(const boost::json::value& handle, std::string_view kind,
                       std::string_view type);
std::optional<RLock> lock_of(const ObjectRef& ref);
[[noreturn]] void throw_no_lock();

}  // namespace detail

template <class T>
class Value {
  static_assert(detail::is_shared_scalar<T>,
                "mp::Value<T>: T must be an arithmetic type, std::string or a struct described "
                "with BOOST_DESCRIBE_STRUCT (this replaces Python's 'bad typecode' TypeError)");
  static constexpr bool kArithmetic = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;

 public:
  // A new value with a new RLock (one round trip to store the initial value).
  Value() : Value(T{}) {}
  explicit Value(const T& v) : Value(v, RLock()) {}
  // With the given lock: get_lock() returns a handle to that same lock.
  Value(const T& v, RLock lock)
      : lock_(std::move(lock)),
        ref_(detail::value_create(detail::Codec<T>::type_name(), detail::Codec<T>::encode(v),
                                  lock_->ref().to_json())) {}
  // Without a lock (lock=False): get_lock() raises mp::ValueError.
  Value(const T& v, NoLock)
      : ref_(detail::value_create(detail::Codec<T>::type_name(), detail::Codec<T>::encode(v),
                                  nullptr)) {}

  // Reads the value (GET).
  T value() const { return detail::Codec<T>::decode(detail::value_get(ref_)); }
  // Writes it (SET with the expiry).
  void set(const T& v) { detail::value_set(ref_, detail::Codec<T>::encode(v)); }
  // Writes v and returns the previous value, atomically (SET ... GET).
  T exchange(const T& v) {
    return detail::Codec<T>::decode(detail::value_exchange(ref_, detail::Codec<T>::encode(v)));
  }

  // Atomic arithmetic (one server-side INCRBY / INCRBYFLOAT each). fetch_* return the value
  // before the change, the operators the value after it.
  T fetch_add(T delta) requires kArithmetic { return static_cast<T>(add(delta) - delta); }
  T fetch_sub(T delta) requires kArithmetic { return static_cast<T>(sub(delta) + delta); }
  T operator+=(T delta) requires kArithmetic { return add(delta); }
  T operator-=(T delta) requires kArithmetic { return sub(delta); }
  T operator++() requires kArithmetic { return add(T{1}); }
  T operator--() requires kArithmetic { return sub(T{1}); }

  // The lock given or created at construction (a handle to the same Redis lock in every
  // process). Raises mp::ValueError for a value made with mp::no_lock.
  RLock& get_lock() {
    if (!lock_) detail::throw_no_lock();
    return *lock_;
  }
  bool has_lock() const { return lock_.has_value(); }

  const detail::ObjectRef& ref() const { return ref_; }
  explicit Value(detail::ObjectRef ref) : lock_(detail::lock_of(ref)), ref_(std::move(ref)) {}

 private:
  T add(T delta) {
    if constexpr (std::is_floating_point_v<T>) {
      return detail::Codec<T>::decode(detail::value_add_float(ref_, delta));
    } else {
      return static_cast<T>(detail::value_add_int(ref_, static_cast<long long>(delta)));
    }
  }
  T sub(T delta) {
    if constexpr (std::is_floating_point_v<T>) {
      return detail::Codec<T>::decode(
          detail::value_add_float(ref_, -static_cast<long double>(delta)));
    } else {
      return static_cast<T>(detail::value_add_int(ref_, -static_cast<long long>(delta)));
    }
  }
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Value& v) {
    jv = v.ref_.to_json();
  }
  friend Value tag_invoke(boost::json::value_to_tag<Value>, const boost::json::value& jv) {
    return Value(detail::attach_typed(jv, "value", detail::Codec<T>::type_name()));
  }

  std::optional<RLock> lock_;
  detail::ObjectRef ref_;
};

// Python's RawValue(typecode, v): a Value without a lock.
template <class T>
Value<T> RawValue(const T& v) {
  return Value<T>(v, no_lock);
}

// Python's sharedctypes.copy(obj): a new shared value, without a lock, holding what `v` holds now
// (one read, then one write). Changing either afterwards leaves the other as it is.
template <class T>
Value<T> copy(const Value<T>& v) {
  return Value<T>(v.value(), no_lock);
}
// The same for a plain value or struct: a new shared RawValue initialised from it.
template <class T>
requires detail::is_shared_scalar<T> || detail::is_described_struct<T> Value<T> copy(const T& v) {
  return Value<T>(v, no_lock);
}

}  // namespace lithops::multiprocessing

// Value<S> for described structs (a partial specialisation of Value).
#include "lithops/multiprocessing/value_struct.hpp"  // IWYU pragma: export
