// mp::SetProxy<T>: a set shared by every process of a session (SyncManager.set(), newer than
// CPython 3.12), stored as one Redis SET. Made by mp::Manager::set<T>(); see docs/manager.md.
//
//   auto s = manager.set<int>({1, 2, 3});   // from a std::set, a vector, or a map's keys
//   s.add(4);                               // SADD: one round trip
//   s |= std::set<int>{5, 6};               // in place: atomic on the server, keeps the proxy
//   std::set<int> u = s | std::set<int>{7}; // a plain local std::set (as Python's s | {7})
//   bool sub = s <= std::set<int>{1, 2, 3, 4, 5, 6, 7};
//
// Items are any type Boost.JSON converts; membership is equality of the JSON text
// (proxy_common.hpp). The local results are local_type: std::set<T> when T has operator<, else a
// std::set ordered by the JSON text (boost::json::value items). A boost::json::value item that is
// an object or an array is unhashable in Python and raises mp::TypeError here.
//
// Every call is one round trip. The in-place forms (update, |=, intersection_update, &=,
// difference_update, -=, symmetric_difference_update, ^=) are one Lua script each: atomic on the
// server whatever other processes do meanwhile. The other operand is read first (one round trip
// if it is another SetProxy). The non-mutating forms (union_, |, intersection, ..., the
// comparisons) read one snapshot and compute locally. Every call may throw mp::OSError if the
// store is unreachable and mp::TypeError when an item does not convert to T. Thread-safe.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lithops/multiprocessing/proxy_common.hpp"
#include "lithops/multiprocessing/shared_object.hpp"

namespace lithops::multiprocessing {
namespace detail {

// The type-independent set: items are JSON text. set_proxy.cpp.
class SetHandle {
 public:
  SetHandle();  // a new, empty set in this session
  static SetHandle attach(const boost::json::value& handle);

  bool add(std::string_view item);     // whether it was new
  bool remove(std::string_view item);  // whether it was there
  std::optional<std::string> pop();    // std::nullopt when empty
  bool contains(std::string_view item) const;
  long long size() const;
  std::vector<std::string> members() const;
  void clear();
  // Atomic in-place update with `items`: op is "update", "difference_update",
  // "intersection_update" or "symmetric_difference_update".
  void apply(std::string_view op, const std::vector<std::string>& items);

  boost::json::value to_json() const { return ref_.to_json(); }
  const ObjectRef& ref() const { return ref_; }

 private:
  explicit SetHandle(ObjectRef ref) : ref_(std::move(ref)) {}
  ObjectRef ref_;
};

// mp::TypeError for a boost::json::value that Python could not hash (dict, list).
void check_hashable(const boost::json::value& v);

// The order of the local results: T's operator< when it has one, else that of the JSON text
// (boost::json::value).
template <class T>
struct TextLess {
  bool operator()(const T& a, const T& b) const { return encode(a) < encode(b); }
};
template <class T>
using ItemLess = std::conditional_t<std::totally_ordered<T>, std::less<T>, TextLess<T>>;

template <class T>
std::string encode_set_item(const T& v) {
  if constexpr (std::is_same_v<T, boost::json::value>) check_hashable(v);
  return encode(v);
}

}  // namespace detail

template <class T>
class SetProxy {
 public:
  using value_type = T;
  using local_type = std::set<T, detail::ItemLess<T>>;  // std::set<T> for ordered T

  // Adds `item` (no-op if present).
  void add(const T& item) { h_.add(detail::encode_set_item(item)); }
  // Removes `item`; mp::KeyError if it is not there.
  void remove(const T& item) {
    const std::string e = detail::encode_set_item(item);
    if (!h_.remove(e)) throw KeyError(e);
  }
  // Removes `item` if present.
  void discard(const T& item) { h_.remove(detail::encode_set_item(item)); }
  // Removes and returns an arbitrary item, atomically; mp::KeyError if the set is empty.
  T pop() {
    auto v = h_.pop();
    if (!v) throw KeyError("pop from an empty set");
    return detail::decode<T>(*v, "a set item");
  }
  bool contains(const T& item) const { return h_.contains(detail::encode_set_item(item)); }
  std::size_t size() const { return static_cast<std::size_t>(h_.size()); }
  bool empty() const { return size() == 0; }
  void clear() { h_.clear(); }

  // Python's s.copy() / set(s): a plain local copy (one round trip).
  local_type copy() const {
    local_type out;
    for (const auto& m : h_.members()) out.insert(detail::decode<T>(m, "a set item"));
    return out;
  }

  // Non-mutating forms: a local std::set. `other` is any range of T, or a SetProxy<T>.
  template <class R>
  local_type union_(const R& other) const {
    return union__local(copy(), local(other));
  }
  template <class R>
  local_type intersection(const R& other) const {
    return intersection_local(copy(), local(other));
  }
  template <class R>
  local_type difference(const R& other) const {
    return difference_local(copy(), local(other));
  }
  template <class R>
  local_type symmetric_difference(const R& other) const {
    return symmetric_difference_local(copy(), local(other));
  }
  template <class R>
  bool isdisjoint(const R& other) const {
    return intersection(other).empty();
  }
  template <class R>
  bool issubset(const R& other) const {
    const local_type a = copy(), b = local(other);
    return std::includes(b.begin(), b.end(), a.begin(), a.end(), Less{});
  }
  template <class R>
  bool issuperset(const R& other) const {
    const local_type a = copy(), b = local(other);
    return std::includes(a.begin(), a.end(), b.begin(), b.end(), Less{});
  }

  // In-place forms: one atomic script on the server each.
  template <class R>
  void update(const R& other) {
    apply("update", other);
  }
  template <class R>
  void intersection_update(const R& other) {
    apply("intersection_update", other);
  }
  template <class R>
  void difference_update(const R& other) {
    apply("difference_update", other);
  }
  template <class R>
  void symmetric_difference_update(const R& other) {
    apply("symmetric_difference_update", other);
  }

  // Python's operators take sets on both sides: a std::set<T> or another SetProxy<T>. The
  // binary forms (either order) give a local std::set; the in-place forms keep the proxy.
  SetProxy& operator|=(const local_type& o) { return update(o), *this; }
  SetProxy& operator|=(const SetProxy& o) { return update(o), *this; }
  SetProxy& operator&=(const local_type& o) { return intersection_update(o), *this; }
  SetProxy& operator&=(const SetProxy& o) { return intersection_update(o), *this; }
  SetProxy& operator-=(const local_type& o) { return difference_update(o), *this; }
  SetProxy& operator-=(const SetProxy& o) { return difference_update(o), *this; }
  SetProxy& operator^=(const local_type& o) { return symmetric_difference_update(o), *this; }
  SetProxy& operator^=(const SetProxy& o) { return symmetric_difference_update(o), *this; }

#define LITHOPS_SET_OPERATOR_(op, method)                                                       \
  friend local_type operator op(const SetProxy& a, const local_type& b) { return a.method(b); } \
  friend local_type operator op(const SetProxy& a, const SetProxy& b) { return a.method(b); }   \
  friend local_type operator op(const local_type& a, const SetProxy& b) {                       \
    return SetProxy::method##_local(a, b.copy());                                               \
  }
  LITHOPS_SET_OPERATOR_(|, union_)
  LITHOPS_SET_OPERATOR_(&, intersection)
  LITHOPS_SET_OPERATOR_(-, difference)
  LITHOPS_SET_OPERATOR_(^, symmetric_difference)
#undef LITHOPS_SET_OPERATOR_

  // Python's set comparisons: subset / superset (strict for < and >), equality of contents.
  friend bool operator<=(const SetProxy& a, const local_type& b) { return a.issubset(b); }
  friend bool operator>=(const SetProxy& a, const local_type& b) { return a.issuperset(b); }
  friend bool operator<(const SetProxy& a, const local_type& b) {
    const local_type x = a.copy();
    return x.size() < b.size() && std::includes(b.begin(), b.end(), x.begin(), x.end(), Less{});
  }
  friend bool operator>(const SetProxy& a, const local_type& b) {
    const local_type x = a.copy();
    return x.size() > b.size() && std::includes(x.begin(), x.end(), b.begin(), b.end(), Less{});
  }
  friend bool operator==(const SetProxy& a, const local_type& b) { return a.copy() == b; }
  friend bool operator<=(const SetProxy& a, const SetProxy& b) { return a <= b.copy(); }
  friend bool operator>=(const SetProxy& a, const SetProxy& b) { return a >= b.copy(); }
  friend bool operator<(const SetProxy& a, const SetProxy& b) { return a < b.copy(); }
  friend bool operator>(const SetProxy& a, const SetProxy& b) { return a > b.copy(); }

  // Iterates over one snapshot (one round trip at begin()), in T's order.
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;
    Iterator() = default;
    reference operator*() const { return *it_; }
    pointer operator->() const { return &*it_; }
    Iterator& operator++() {
      ++it_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator t = *this;
      ++it_;
      return t;
    }
    bool operator==(const Iterator& o) const {
      return at_end() ? o.at_end() : (!o.at_end() && it_ == o.it_);
    }

   private:
    friend class SetProxy;
    explicit Iterator(std::shared_ptr<const local_type> items)
        : items_(std::move(items)), it_(items_->begin()) {}
    bool at_end() const { return !items_ || it_ == items_->end(); }
    std::shared_ptr<const local_type> items_;
    typename local_type::const_iterator it_{};
  };
  Iterator begin() const { return Iterator(std::make_shared<const local_type>(copy())); }
  Iterator end() const { return Iterator(); }

  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const SetProxy& s) {
    jv = s.h_.to_json();
  }
  friend SetProxy tag_invoke(boost::json::value_to_tag<SetProxy>, const boost::json::value& jv) {
    return SetProxy(detail::SetHandle::attach(jv));
  }

  const detail::ObjectRef& ref() const { return h_.ref(); }
  SetProxy() = default;  // a new set; prefer Manager::set() so the manager deletes it

 private:
  using Less = detail::ItemLess<T>;
  explicit SetProxy(detail::SetHandle h) : h_(std::move(h)) {}

  template <class R>
  static local_type local(const R& other) {
    if constexpr (std::is_same_v<R, SetProxy>) {
      return other.copy();
    } else {
      return local_type(std::begin(other), std::end(other));
    }
  }
  template <class R>
  void apply(std::string_view op, const R& other) {
    std::vector<std::string> items;
    for (const auto& v : local(other)) items.push_back(detail::encode_set_item(v));
    h_.apply(op, items);
  }
  static local_type union__local(local_type a, const local_type& b) {
    a.insert(b.begin(), b.end());
    return a;
  }
  static local_type intersection_local(const local_type& a, const local_type& b) {
    local_type out;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()),
                          Less{});
    return out;
  }
  static local_type difference_local(const local_type& a, const local_type& b) {
    local_type out;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()),
                        Less{});
    return out;
  }
  static local_type symmetric_difference_local(const local_type& a, const local_type& b) {
    local_type out;
    std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(),
                                  std::inserter(out, out.end()), Less{});
    return out;
  }

  detail::SetHandle h_;
};

}  // namespace lithops::multiprocessing
