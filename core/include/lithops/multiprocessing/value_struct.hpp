// mp::Value<S> for a struct S described with BOOST_DESCRIBE_STRUCT: Python's Value(<ctypes
// Structure>). Included by value.hpp; use it through <lithops/multiprocessing.hpp>.
//
//   struct Foo { int x; double y; long long z; };
//   BOOST_DESCRIBE_STRUCT(Foo, (), (x, y, z))
//
//   mp::Value<Foo> foo(Foo{3, 2.0, 0});       // Value(Foo, 3, 2): with a new RLock
//   Foo f = foo.value();                       // every field, one atomic read
//   foo.set(Foo{6, 4.0, 0});                   // every field, one atomic write
//   int x = foo.get(&Foo::x);                  // one field (foo.value.x in Python)
//   foo.set(&Foo::y, 4.5);                     // foo.value.y = 4.5
//   foo.fetch_add(&Foo::x, 1);                 // atomic, no lock: one HINCRBY
//   { std::lock_guard g(foo.get_lock()); auto s = foo.value(); s.y *= s.x; foo.set(s); }
//
// Layout: one Redis hash, one field per described public member (inherited ones included),
// named as the member. Arithmetic members and std::string are stored as text, so HINCRBY /
// HINCRBYFLOAT update one field atomically on the server; any other member (a nested struct, a
// container) as its JSON. A hash rather than one JSON string because Python code updates a
// structure field by field (`foo.value.x += 1`): with a hash that is one native command that
// touches only its field, where a JSON string would need a Lua script that decodes and
// re-encodes the whole struct, or the lock. Whole-struct reads (HMGET) and writes (HSET) are
// single commands, so they are atomic too.
//
// set(S) writes every field: a lock-free fetch_add made by another process between this
// process's value() and set() is overwritten. Read-modify-write the whole struct, or one field,
// under get_lock() (and have every writer of those fields take it), or use fetch_add.
//
// Blocking, errors and expiry as for the scalar Value (value.hpp): each call is one round trip;
// mp::ValueError if the value is gone (a read that finds fields missing), mp::OSError if the
// store is unreachable. A member pointer that names no described member raises mp::ValueError.
#pragma once

#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>
#include <boost/mp11/algorithm.hpp>

#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "lithops/multiprocessing/value.hpp"

namespace lithops::multiprocessing {

namespace detail {

// value.cpp. Field names and values in the same order.
ObjectRef struct_create(std::string_view type, std::span<const std::string_view> names,
                        std::span<const std::string> values, boost::json::value lock);
std::vector<std::string> struct_get(const ObjectRef& ref, std::span<const std::string_view> names);
void struct_set(const ObjectRef& ref, std::span<const std::string_view> names,
                std::span<const std::string> values);
std::string struct_get_field(const ObjectRef& ref, std::string_view name);
void struct_set_field(const ObjectRef& ref, std::string_view name, std::string_view v);
long long struct_add_int(const ObjectRef& ref, std::string_view name, long long delta);
std::string struct_add_float(const ObjectRef& ref, std::string_view name, long double delta);
[[noreturn]] void throw_not_a_member(std::string_view type);

template <class S>
using struct_members = boost::describe::describe_members<S, boost::describe::mod_public |
                                                                boost::describe::mod_inherited>;

template <class S>
const std::vector<std::string_view>& struct_field_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    boost::mp11::mp_for_each<struct_members<S>>([&](auto d) { out.emplace_back(d.name); });
    return out;
  }();
  return names;
}

// The hash field of the described member `field`.
template <class S, class M>
std::string_view struct_field_name(M S::*field) {
  std::string_view name;
  boost::mp11::mp_for_each<struct_members<S>>([&](auto d) {
    using Member = std::remove_cvref_t<decltype(std::declval<S&>().*d.pointer)>;
    if constexpr (std::is_same_v<Member, M>) {
      if (static_cast<M S::*>(d.pointer) == field) name = d.name;
    }
  });
  if (name.empty()) throw_not_a_member(Codec<S>::type_name());
  return name;
}

}  // namespace detail

template <class S>
requires detail::is_described_struct<S>
class Value<S> {
  static_assert(boost::mp11::mp_size<detail::struct_members<S>>::value > 0,
                "mp::Value<S>: S must describe at least one public member");
  static_assert(std::is_default_constructible_v<S>,
                "mp::Value<S>: S must be default-constructible");

 public:
  // A new value with a new RLock (one round trip: HSET and EXPIRE pipelined).
  Value() : Value(S{}) {}
  explicit Value(const S& v) : Value(v, RLock()) {}
  // With the given lock: get_lock() returns a handle to that same lock.
  Value(const S& v, RLock lock)
      : lock_(std::move(lock)),
        ref_(detail::struct_create(detail::Codec<S>::type_name(), names(), encode(v),
                                   lock_->ref().to_json())) {}
  // Without a lock (lock=False): get_lock() raises mp::ValueError.
  Value(const S& v, NoLock)
      : ref_(detail::struct_create(detail::Codec<S>::type_name(), names(), encode(v), nullptr)) {}

  // Every field (one HMGET).
  S value() const {
    const auto values = detail::struct_get(ref_, names());
    S out{};
    std::size_t i = 0;
    boost::mp11::mp_for_each<detail::struct_members<S>>([&](auto d) {
      using M = std::remove_cvref_t<decltype(out.*d.pointer)>;
      out.*d.pointer = detail::Codec<M>::decode(values[i++]);
    });
    return out;
  }
  // Every field (one HSET, its EXPIRE pipelined).
  void set(const S& v) { detail::struct_set(ref_, names(), encode(v)); }

  // One field: get(&S::x) reads it (HGET), set(&S::x, v) writes it (HSET + EXPIRE).
  template <class M>
  M get(M S::*field) const {
    return detail::Codec<M>::decode(
        detail::struct_get_field(ref_, detail::struct_field_name(field)));
  }
  template <class M>
  void set(M S::*field, const std::type_identity_t<M>& v) {
    detail::struct_set_field(ref_, detail::struct_field_name(field), detail::Codec<M>::encode(v));
  }

  // Atomic arithmetic on one field, without the lock (one HINCRBY / HINCRBYFLOAT); returns the
  // field's value before the change.
  template <class M>
  requires(std::is_arithmetic_v<M> && !std::is_same_v<M, bool>) M
      fetch_add(M S::*field, std::type_identity_t<M> delta) {
    const auto name = detail::struct_field_name(field);
    if constexpr (std::is_floating_point_v<M>) {
      return static_cast<M>(detail::Codec<M>::decode(detail::struct_add_float(ref_, name, delta)) -
                            delta);
    } else {
      return static_cast<M>(detail::struct_add_int(ref_, name, static_cast<long long>(delta)) -
                            static_cast<long long>(delta));
    }
  }
  template <class M>
  requires(std::is_arithmetic_v<M> && !std::is_same_v<M, bool>) M
      fetch_sub(M S::*field, std::type_identity_t<M> delta) {
    const auto name = detail::struct_field_name(field);
    if constexpr (std::is_floating_point_v<M>) {
      return static_cast<M>(detail::Codec<M>::decode(detail::struct_add_float(
                                ref_, name, -static_cast<long double>(delta))) +
                            delta);
    } else {
      return static_cast<M>(detail::struct_add_int(ref_, name, -static_cast<long long>(delta)) +
                            static_cast<long long>(delta));
    }
  }

  // As for the scalar Value.
  RLock& get_lock() {
    if (!lock_) detail::throw_no_lock();
    return *lock_;
  }
  bool has_lock() const { return lock_.has_value(); }

  const detail::ObjectRef& ref() const { return ref_; }
  explicit Value(detail::ObjectRef ref) : lock_(detail::lock_of(ref)), ref_(std::move(ref)) {}

 private:
  static std::span<const std::string_view> names() { return detail::struct_field_names<S>(); }
  static std::vector<std::string> encode(const S& v) {
    std::vector<std::string> out;
    boost::mp11::mp_for_each<detail::struct_members<S>>([&](auto d) {
      using M = std::remove_cvref_t<decltype(v.*d.pointer)>;
      out.push_back(detail::Codec<M>::encode(v.*d.pointer));
    });
    return out;
  }
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Value& v) {
    jv = v.ref_.to_json();
  }
  friend Value tag_invoke(boost::json::value_to_tag<Value>, const boost::json::value& jv) {
    return Value(detail::attach_typed(jv, "value", detail::Codec<S>::type_name()));
  }

  std::optional<RLock> lock_;
  detail::ObjectRef ref_;
};

}  // namespace lithops::multiprocessing
