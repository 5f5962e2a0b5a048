// mp::ListProxy<T>: a list shared by every process of a session (a SyncManager list() proxy),
// stored as one Redis list. Made by mp::Manager::list<T>(); see manager.hpp and docs/manager.md.
//
//   auto l = manager.list<int>({1, 2, 3});
//   l.append(4);                  // atomic RPUSH: concurrent appends are never lost
//   int x = l[-1];                // LINDEX, negative indices as in Python
//   l[0] = 10;                    // mp::IndexError if out of range
//   std::vector<int> s = l.slice(1, 3);   // l[1:3]
//   l.sort();                     // atomic (see sort())
//
// Items are any type Boost.JSON converts; equality (remove, index, count, contains) is on their
// JSON text (proxy_common.hpp). An item may be another proxy or shared object (nested proxies).
// Every call is one round trip and atomic on the server (one Redis command, a pipelined command
// plus EXPIRE, or one Lua script); a sequence of calls is not. Every call may throw mp::OSError if
// the store is unreachable and mp::TypeError when an item does not convert to T. Thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lithops/multiprocessing/proxy_common.hpp"
#include "lithops/multiprocessing/shared_object.hpp"

namespace lithops::multiprocessing {
namespace detail {

// Python's "no bound" for a slice end.
inline constexpr long long kNoBound = std::numeric_limits<long long>::max();

// The type-independent list: items are JSON text. list_proxy.cpp.
class ListHandle {
 public:
  ListHandle();
  static ListHandle attach(const boost::json::value& handle);

  void append(std::vector<std::string> items);  // RPUSH + EXPIRE in one round trip
  std::optional<std::string> get(long long i) const;
  bool set(long long i, std::string_view item);  // false: out of range
  void insert(long long i, std::string_view item);
  std::optional<std::string> pop(long long i);  // nullopt: out of range / empty
  bool remove(std::string_view item);
  std::optional<long long> index(std::string_view item) const;
  long long count(std::string_view item) const;
  long long size() const;
  std::vector<std::string> slice(long long start, long long stop) const;
  std::vector<std::string> all() const;
  void reverse();
  void repeat(long long n);
  void clear();
  // Replaces the whole content with `next` iff it still equals `expected` (atomic compare and
  // swap); returns whether it did.
  bool replace_if(const std::vector<std::string>& expected, const std::vector<std::string>& next);

  boost::json::value to_json() const { return ref_.to_json(); }
  const ObjectRef& ref() const { return ref_; }

 private:
  explicit ListHandle(ObjectRef ref) : ref_(std::move(ref)) {}
  ObjectRef ref_;
};

[[noreturn]] void throw_index_error(long long i);

}  // namespace detail

template <class T>
class ListProxy {
 public:
  using value_type = T;

  // l[i]: reads (mp::IndexError if out of range) and writes (LSET).
  class Reference {
   public:
    operator T() const { return list_->at(i_); }  // NOLINT(google-explicit-constructor)
    T get() const { return list_->at(i_); }
    Reference& operator=(const T& v) {
      list_->set(i_, v);
      return *this;
    }
    Reference& operator=(const Reference& other) { return *this = other.get(); }

   private:
    friend class ListProxy;
    Reference(ListProxy* l, long long i) : list_(l), i_(i) {}
    ListProxy* list_;
    long long i_;
  };

  // Iterates over a snapshot of the items taken by begin() (one round trip).
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;
    Iterator() = default;
    reference operator*() const { return (*items_)[i_]; }
    pointer operator->() const { return &(*items_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator t = *this;
      ++i_;
      return t;
    }
    bool operator==(const Iterator& o) const { return pos() == o.pos(); }

   private:
    friend class ListProxy;
    Iterator(std::shared_ptr<const std::vector<T>> items, std::size_t i)
        : items_(std::move(items)), i_(i) {}
    std::size_t pos() const { return items_ && i_ < items_->size() ? i_ : SIZE_MAX; }
    std::shared_ptr<const std::vector<T>> items_;
    std::size_t i_ = 0;
  };

  // Python's iter(l): reads item 0, 1, ... one round trip each, so it sees writes made during
  // the iteration (MG-03); std::nullopt once past the end.
  class LiveIterator {
   public:
    std::optional<T> next() {
      auto v = list_.h_.get(i_);
      if (!v) return std::nullopt;
      ++i_;
      return detail::decode<T>(*v, "a list item");
    }

   private:
    friend class ListProxy;
    explicit LiveIterator(ListProxy l) : list_(std::move(l)) {}
    ListProxy list_;
    long long i_ = 0;
  };

  Reference operator[](long long i) { return Reference(this, i); }
  // Item i (negative: from the end); mp::IndexError if out of range.
  T at(long long i) const {
    auto v = h_.get(i);
    if (!v) detail::throw_index_error(i);
    return detail::decode<T>(*v, "a list item");
  }
  // Replaces item i; mp::IndexError if out of range.
  void set(long long i, const T& v) {
    if (!h_.set(i, detail::encode(v))) detail::throw_index_error(i);
  }

  // Appends at the end (RPUSH): atomic, never loses a concurrent append.
  void append(const T& v) { h_.append({detail::encode(v)}); }
  // Appends every item of `items` (any range of T) in one atomic RPUSH.
  template <class Range>
  void extend(const Range& items) {
    std::vector<std::string> enc;
    for (const auto& v : items) enc.push_back(detail::encode(v));
    if (!enc.empty()) h_.append(std::move(enc));
  }
  void extend(std::initializer_list<T> items) { extend(std::vector<T>(items)); }
  ListProxy& operator+=(const std::vector<T>& items) {
    extend(items);
    return *this;
  }
  // Python's l *= n: repeats the content in place (n <= 0 empties it); atomic.
  ListProxy& operator*=(long long n) {
    h_.repeat(n);
    return *this;
  }
  // Inserts before index i, Python-style (i past either end clamps); atomic.
  void insert(long long i, const T& v) { h_.insert(i, detail::encode(v)); }
  // Removes and returns item i (default: the last); mp::IndexError if out of range or empty.
  T pop(long long i = -1) {
    auto v = h_.pop(i);
    if (!v) throw IndexError(i == -1 ? "pop from empty list" : "pop index out of range");
    return detail::decode<T>(*v, "a list item");
  }
  // Python's del l[i].
  void erase(long long i) {
    if (!h_.pop(i)) detail::throw_index_error(i);
  }
  // Removes the first item equal to v; mp::ValueError if none (LREM).
  void remove(const T& v) {
    if (!h_.remove(detail::encode(v))) throw ValueError("list.remove(x): x not in list");
  }
  // Index of the first item equal to v; mp::ValueError if none (LPOS).
  std::size_t index(const T& v) const {
    auto i = h_.index(detail::encode(v));
    if (!i) throw ValueError("value is not in list");
    return static_cast<std::size_t>(*i);
  }
  std::size_t count(const T& v) const {
    return static_cast<std::size_t>(h_.count(detail::encode(v)));
  }
  bool contains(const T& v) const { return h_.index(detail::encode(v)).has_value(); }
  std::size_t size() const { return static_cast<std::size_t>(h_.size()); }
  bool empty() const { return size() == 0; }

  // Python's l[start:stop] (step 1; negative indices count from the end, out-of-range bounds
  // clamp): one consistent read.
  std::vector<T> slice(long long start, long long stop = detail::kNoBound) const {
    return decode_all(h_.slice(start, stop));
  }
  // Python's l[:] / l.copy() / list(l): a plain local copy.
  std::vector<T> copy() const { return decode_all(h_.all()); }
  std::vector<T> to_vector() const { return copy(); }

  // Reverses in place in one Lua script.
  void reverse() { h_.reverse(); }
  // Sorts in place by T's operator< (stable). Atomic: reads the items, sorts them here, and
  // replaces the list in one script only if nobody changed it meanwhile (else starts over), so
  // a concurrent append is never lost.
  void sort() requires requires(const T& a, const T& b) { a < b; }
  {
    sort([](const T& a, const T& b) { return a < b; });
  }
  template <class Less>
  void sort(Less less) {
    for (;;) {
      std::vector<std::string> before = h_.all();
      std::vector<T> items = decode_all(before);
      std::stable_sort(items.begin(), items.end(), less);
      std::vector<std::string> after;
      after.reserve(items.size());
      for (const auto& v : items) after.push_back(detail::encode(v));
      if (h_.replace_if(before, after)) return;
    }
  }
  void clear() { h_.clear(); }

  Iterator begin() const { return Iterator(std::make_shared<const std::vector<T>>(copy()), 0); }
  Iterator end() const { return Iterator(); }
  LiveIterator iter() const { return LiveIterator(*this); }

  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const ListProxy& l) {
    jv = l.h_.to_json();
  }
  friend ListProxy tag_invoke(boost::json::value_to_tag<ListProxy>, const boost::json::value& jv) {
    return ListProxy(detail::ListHandle::attach(jv));
  }

  const detail::ObjectRef& ref() const { return h_.ref(); }
  ListProxy() = default;  // a new list; prefer Manager::list() so the manager deletes it

 private:
  explicit ListProxy(detail::ListHandle h) : h_(std::move(h)) {}
  static std::vector<T> decode_all(const std::vector<std::string>& enc) {
    std::vector<T> out;
    out.reserve(enc.size());
    for (const auto& e : enc) out.push_back(detail::decode<T>(e, "a list item"));
    return out;
  }
  detail::ListHandle h_;
};

}  // namespace lithops::multiprocessing
