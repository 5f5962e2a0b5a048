// mp::ObjectProxy<T>: a user type registered with a Manager (Python's BaseManager.register), its
// exposed methods callable from any process that holds the proxy.
//
//   struct Counter {
//     int n = 0;
//     int add(int by) { return n += by; }
//     void _reset() { n = 0; }
//   };
//   BOOST_DESCRIBE_STRUCT(Counter, (), (n, add, _reset))   // state and methods, by name
//
//   manager.register_type<Counter>("Counter");              // exposed: add (not _reset)
//   auto c = manager.create<Counter>("Counter");
//   c.call<&Counter::add>(2);                               // typed: returns int
//   c.callmethod<int>("add", 3);                            // by name (Python's _callmethod)
//
// There is no server process holding the object: its state (the described data members, as
// JSON) lives in Redis, and a method runs in the calling process while it holds the object's
// manager Lock: load the state, call the method, store the state back (only if it changed). So
// every call is atomic with respect to every other call on the object from any process, and costs
// 4 round trips (acquire, GET, SET, release). A method that throws leaves the stored state as it
// was (Python's server keeps a half-done mutation) and its exception reaches the caller as
// itself, and from a worker to the driver as the usual cross-process exceptions do.
//
// Exposed methods: by default the described public member functions whose name does not start
// with '_' (Python's rule); register_type<T>(typeid, {"f", "_h"}) sets them exactly. Calling one
// that is not exposed raises mp::RemoteError of type "AttributeError" (as Python's server). A
// method's arguments and result travel as JSON: any type Boost.JSON converts.
//
// Iteration (Python's generator with an iterator proxy): a type with `std::optional<V> next()`
// exposed is iterated with `for (V v : proxy.iterate<V>())`, each step one call of next().
//
// Blocking: each call waits up to timeout() (default 60 s, set_timeout()) for the object's lock
// and raises mp::TimeoutError after it. Thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/describe.hpp>
#include <boost/json/array.hpp>
#include <boost/mp11/algorithm.hpp>

#include "lithops/multiprocessing/lock.hpp"
#include "lithops/multiprocessing/proxy_common.hpp"
#include "lithops/multiprocessing/shared_object.hpp"

namespace lithops::multiprocessing {
namespace detail {

// object_proxy.cpp: the state as JSON text in one Redis string.
ObjectRef object_create(const std::string& type_id, const std::vector<std::string>& exposed,
                        const std::string& state);
ObjectRef object_attach(const boost::json::value& handle);
std::string object_load(const ObjectRef& ref);
void object_store(const ObjectRef& ref, const std::string& state);
[[noreturn]] void throw_not_exposed(const ObjectRef& ref, std::string_view method);
[[noreturn]] void throw_no_method(std::string_view type_id, std::string_view method);

template <class M>
struct MemberTraits;
#define LITHOPS_MEMBER_TRAITS_(qualifiers)             \
  template <class C, class R, class... P>              \
  struct MemberTraits<R (C::*)(P...) qualifiers> {     \
    using result = R;                                  \
    using args = std::tuple<std::decay_t<P>...>;       \
    static constexpr std::size_t arity = sizeof...(P); \
  };
LITHOPS_MEMBER_TRAITS_()
LITHOPS_MEMBER_TRAITS_(const)
LITHOPS_MEMBER_TRAITS_(noexcept)
LITHOPS_MEMBER_TRAITS_(const noexcept)
#undef LITHOPS_MEMBER_TRAITS_

// The described public member functions of T.
template <class T>
using MethodList = boost::describe::describe_members<T, boost::describe::mod_public |
                                                            boost::describe::mod_function>;

// Default exposed set: public described methods whose name does not start with '_'.
template <class T>
std::vector<std::string> public_methods() {
  std::vector<std::string> out;
  boost::mp11::mp_for_each<MethodList<T>>([&](auto d) {
    if (d.name[0] != '_') out.emplace_back(d.name);
  });
  return out;
}

template <class T>
bool has_method(std::string_view name) {
  bool found = false;
  boost::mp11::mp_for_each<MethodList<T>>([&](auto d) { found = found || name == d.name; });
  return found;
}

// Calls the method `name` of `obj` with `args` (a JSON array); returns its result as JSON.
template <class T>
boost::json::value invoke_method(T& obj, std::string_view name, const boost::json::value& args,
                                 std::string_view type_id) {
  std::optional<boost::json::value> result;
  boost::mp11::mp_for_each<MethodList<T>>([&](auto d) {
    if (result || name != d.name) return;
    using Traits = MemberTraits<std::remove_cv_t<decltype(d.pointer)>>;
    auto call = [&] {
      if constexpr (Traits::arity == 0) {
        return (obj.*d.pointer)();
      } else {
        auto params =
            decode<typename Traits::args>(boost::json::serialize(args), "a method's arguments");
        return std::apply([&](auto&&... p) { return (obj.*d.pointer)(std::move(p)...); },
                          std::move(params));
      }
    };
    if constexpr (std::is_void_v<typename Traits::result>) {
      call();
      result = nullptr;
    } else {
      result = boost::json::value_from(call());
    }
  });
  if (!result) throw_no_method(type_id, name);
  return std::move(*result);
}

template <auto M, class T>
const char* method_name() {
  const char* found = nullptr;
  boost::mp11::mp_for_each<MethodList<T>>([&](auto d) {
    if constexpr (std::is_same_v<std::remove_cv_t<decltype(d.pointer)>, decltype(M)>) {
      if (d.pointer == M) found = d.name;
    }
  });
  return found;
}

}  // namespace detail

template <class T>
class ObjectProxy {
  static_assert(boost::describe::has_describe_members<T>::value,
                "mp::ObjectProxy<T>: describe T's state and methods with BOOST_DESCRIBE_STRUCT");

 public:
  // Python's _callmethod(name, args): runs the exposed method `name` (see the file comment).
  // R is the result type (boost::json::value for any). mp::RemoteError (type "AttributeError")
  // if `name` is not exposed; mp::TimeoutError if the lock is not had within timeout().
  template <class R = boost::json::value, class... A>
  R callmethod(std::string_view name, A&&... args) {
    if (!exposes(name)) detail::throw_not_exposed(ref_, name);
    boost::json::value packed = boost::json::array{};
    if constexpr (sizeof...(A) > 0) {
      packed = boost::json::value_from(std::make_tuple(std::forward<A>(args)...));
    }
    boost::json::value result;
    {
      if (!lock_.acquire(timeout_)) {
        throw TimeoutError("could not lock " + type_id() + " object within the timeout");
      }
      struct Release {
        Lock& l;
        ~Release() {
          try {
            l.release();
          } catch (const std::exception& e) {
            // Not thrown from a destructor; the Lock's lease frees it.
            std::fprintf(stderr, "lithops: could not release an object's lock: %s\n", e.what());
          }
        }
      } release{lock_};
      const std::string before = detail::object_load(ref_);
      T obj = detail::decode<T>(before, "an object's state");
      result = detail::invoke_method(obj, name, packed, type_id());
      std::string after = detail::encode(obj);
      if (after != before) detail::object_store(ref_, after);
    }
    if constexpr (std::is_same_v<R, boost::json::value>) {
      return result;
    } else if constexpr (std::is_void_v<R>) {
      return;
    } else {
      return detail::decode<R>(boost::json::serialize(result), "a method's result");
    }
  }

  // The typed form: call<&T::f>(args...) returns what f returns.
  template <auto M, class... A>
  typename detail::MemberTraits<decltype(M)>::result call(A&&... args) {
    const char* name = detail::method_name<M, T>();
    static_cast<void>(name);
    if (!name) detail::throw_no_method(type_id(), "(undescribed member)");
    using R = typename detail::MemberTraits<decltype(M)>::result;
    return callmethod<R>(name, std::forward<A>(args)...);
  }

  // Python's hasattr(proxy, name) for methods: whether `name` is exposed.
  bool exposes(std::string_view name) const {
    const auto& e = ref_.properties().at("exposed").as_array();
    return std::any_of(e.begin(), e.end(), [&](const auto& v) { return v.as_string() == name; });
  }
  std::vector<std::string> exposed() const {
    std::vector<std::string> out;
    for (const auto& v : ref_.properties().at("exposed").as_array()) {
      out.emplace_back(v.as_string());
    }
    return out;
  }
  std::string type_id() const { return std::string(ref_.properties().at("typeid").as_string()); }
  // A local copy of the object's state (one round trip; no lock: one consistent GET).
  T value() const { return detail::decode<T>(detail::object_load(ref_), "an object's state"); }

  template <class Rep, class Period>
  void set_timeout(std::chrono::duration<Rep, Period> t) {
    timeout_ = std::chrono::duration_cast<std::chrono::milliseconds>(t);
  }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // An input range over an iterator object: each step calls `next` (std::optional<V>; nullopt
  // ends the iteration).
  template <class V>
  class Range {
   public:
    class Iterator {
     public:
      using value_type = V;
      using difference_type = std::ptrdiff_t;
      const V& operator*() const { return *cur_; }
      Iterator& operator++() {
        cur_ = p_->template callmethod<std::optional<V>>("next");
        return *this;
      }
      void operator++(int) { ++*this; }
      bool operator==(std::default_sentinel_t) const { return !cur_; }

     private:
      friend class Range;
      explicit Iterator(ObjectProxy* p) : p_(p) { ++*this; }
      ObjectProxy* p_;
      std::optional<V> cur_;
    };
    Iterator begin() { return Iterator(p_); }
    std::default_sentinel_t end() { return {}; }

   private:
    friend class ObjectProxy;
    explicit Range(ObjectProxy* p) : p_(p) {}
    ObjectProxy* p_;
  };
  template <class V>
  Range<V> iterate() {
    return Range<V>(this);
  }

  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv,
                         const ObjectProxy& p) {
    jv = boost::json::object{{"object", p.ref_.to_json()},
                             {"lock", boost::json::value_from(p.lock_)}};
  }
  friend ObjectProxy tag_invoke(boost::json::value_to_tag<ObjectProxy>,
                                const boost::json::value& jv) {
    const auto& o = jv.as_object();
    return ObjectProxy(detail::object_attach(o.at("object")),
                       boost::json::value_to<Lock>(o.at("lock")));
  }

  const detail::ObjectRef& ref() const { return ref_; }

  // Made by Manager::create<T>() (inside the manager's scope, so the manager owns both parts).
  ObjectProxy(const std::string& type_id, const std::vector<std::string>& exposed, const T& initial)
      : lock_(), ref_(detail::object_create(type_id, exposed, detail::encode(initial))) {}

 private:
  ObjectProxy(detail::ObjectRef ref, Lock lock) : lock_(std::move(lock)), ref_(std::move(ref)) {}

  Lock lock_;
  detail::ObjectRef ref_;
  std::chrono::milliseconds timeout_{60000};
};

}  // namespace lithops::multiprocessing
