// mp::DictProxy<K, V>: a dict shared by every process of a session (a SyncManager dict() proxy).
// Made by mp::Manager::dict<K, V>(); see manager.hpp and docs/manager.md.
//
//   auto d = manager.dict<std::string, int>();
//   d["a"] = 1;                 // one round trip (one Lua script: insert keeps insertion order)
//   int a = d["a"];             // one round trip (HGET); mp::KeyError if missing
//   d.incr("hits", 1);          // atomic on the server (HINCRBY): exact under concurrency
//   for (auto& [k, v] : d) ...  // iterates over one snapshot taken by begin()
//
// Keys and values are any types Boost.JSON converts (see proxy_common.hpp for equality). A value
// may be another proxy or shared object (a ListProxy, a Queue, ...): its handle is stored, and
// reading it back re-attaches to the same object (nested proxies, MG-08 / QU-17).
//
// Every call is one round trip and atomic on the server (each is one Redis command or one Lua
// script); a sequence of calls is not, so a read-modify-write of several calls needs a Lock
// (except the single-call helpers incr, setdefault, pop, popitem, update). Iteration follows
// insertion order, as Python's dict. Every call may throw mp::OSError if the store is
// unreachable, and mp::TypeError when a stored value does not convert to V. Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "lithops/multiprocessing/proxy_common.hpp"
#include "lithops/multiprocessing/shared_object.hpp"

namespace lithops::multiprocessing {
namespace detail {

// The type-independent dict: keys and values are JSON text. dict_proxy.cpp.
class DictHandle {
 public:
  DictHandle();  // a new, empty dict in this session
  static DictHandle attach(const boost::json::value& handle);

  std::optional<std::string> get(std::string_view key) const;
  void set(std::string_view key, std::string_view value);
  // Sets all pairs [k0, v0, k1, v1, ...] in one atomic step.
  void update(const std::vector<std::string>& flat);
  std::optional<std::string> pop(std::string_view key);
  std::optional<std::pair<std::string, std::string>> popitem();
  std::string setdefault(std::string_view key, std::string_view value);
  bool contains(std::string_view key) const;
  long long size() const;
  std::vector<std::string> keys() const;
  std::vector<std::pair<std::string, std::string>> items() const;
  void clear();
  long long incr_int(std::string_view key, long long by);
  std::string incr_float(std::string_view key, long double by);

  boost::json::value to_json() const { return ref_.to_json(); }
  const ObjectRef& ref() const { return ref_; }

 private:
  explicit DictHandle(ObjectRef ref) : ref_(std::move(ref)) {}
  ObjectRef ref_;
};

[[noreturn]] void throw_key_error(std::string_view encoded_key);

}  // namespace detail

template <class K, class V>
class DictProxy {
  static constexpr bool kArithmetic = std::is_arithmetic_v<V> && !std::is_same_v<V, bool>;

 public:
  using key_type = K;
  using mapped_type = V;
  using value_type = std::pair<K, V>;

  // d[k]: reads with get() semantics of operator[] (mp::KeyError if missing), writes with set().
  class Reference {
   public:
    operator V() const { return dict_->at(key_); }  // NOLINT(google-explicit-constructor)
    V get() const { return dict_->at(key_); }
    Reference& operator=(const V& v) {
      dict_->set(key_, v);
      return *this;
    }
    Reference& operator=(const Reference& other) { return *this = other.get(); }
    // Atomic server-side add (see incr()); returns the new value.
    V operator+=(V by) requires kArithmetic { return dict_->incr(key_, by); }
    V operator-=(V by) requires kArithmetic { return dict_->incr(key_, -by); }

   private:
    friend class DictProxy;
    Reference(DictProxy* d, K k) : dict_(d), key_(std::move(k)) {}
    DictProxy* dict_;
    K key_;
  };

  // Iterates over a snapshot of the items, in insertion order (one round trip at begin()).
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::pair<K, V>;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;
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
    friend class DictProxy;
    Iterator(std::shared_ptr<const std::vector<value_type>> items, std::size_t i)
        : items_(std::move(items)), i_(i) {}
    std::size_t pos() const { return items_ && i_ < items_->size() ? i_ : SIZE_MAX; }
    std::shared_ptr<const std::vector<value_type>> items_;
    std::size_t i_ = 0;
  };

  // Python's iter(d): yields the keys present when it was made, in insertion order, and raises
  // mp::RuntimeError from next() if the dict's size changed since (MG-07). next() costs one round
  // trip (HLEN); std::nullopt when exhausted.
  class KeyIterator {
   public:
    std::optional<K> next() {
      if (i_ >= keys_.size()) return std::nullopt;
      if (dict_.size() != keys_.size())
        throw RuntimeError("dictionary changed size during iteration");
      return keys_[i_++];
    }

   private:
    friend class DictProxy;
    explicit KeyIterator(DictProxy d) : dict_(std::move(d)), keys_(dict_.keys()) {}
    DictProxy dict_;
    std::vector<K> keys_;
    std::size_t i_ = 0;
  };

  Reference operator[](const K& key) { return Reference(this, key); }
  // The value of `key`; mp::KeyError if missing.
  V at(const K& key) const {
    auto v = h_.get(detail::encode(key));
    if (!v) detail::throw_key_error(detail::encode(key));
    return detail::decode<V>(*v, "a dict value");
  }
  // Python's d.get(k): std::nullopt if missing.
  std::optional<V> get(const K& key) const {
    auto v = h_.get(detail::encode(key));
    if (!v) return std::nullopt;
    return detail::decode<V>(*v, "a dict value");
  }
  V get(const K& key, const V& fallback) const {
    auto v = get(key);
    return v ? std::move(*v) : fallback;
  }
  // Inserts or replaces (a new key goes last in the iteration order).
  void set(const K& key, const V& value) { h_.set(detail::encode(key), detail::encode(value)); }
  // Removes `key`; returns whether it was there.
  bool erase(const K& key) { return h_.pop(detail::encode(key)).has_value(); }
  // Python's del d[k]: mp::KeyError if missing.
  void del(const K& key) {
    if (!erase(key)) detail::throw_key_error(detail::encode(key));
  }
  bool contains(const K& key) const { return h_.contains(detail::encode(key)); }
  std::size_t size() const { return static_cast<std::size_t>(h_.size()); }
  bool empty() const { return size() == 0; }

  std::vector<K> keys() const {
    std::vector<K> out;
    for (const auto& k : h_.keys()) out.push_back(detail::decode<K>(k, "a dict key"));
    return out;
  }
  std::vector<V> values() const {
    std::vector<V> out;
    for (const auto& [k, v] : h_.items()) out.push_back(detail::decode<V>(v, "a dict value"));
    return out;
  }
  // All pairs in insertion order, read atomically (one script).
  std::vector<value_type> items() const {
    std::vector<value_type> out;
    for (const auto& [k, v] : h_.items()) {
      out.emplace_back(detail::decode<K>(k, "a dict key"), detail::decode<V>(v, "a dict value"));
    }
    return out;
  }
  // Python's d.copy(): a plain local copy (items in insertion order).
  std::vector<value_type> copy() const { return items(); }

  // Sets every pair of `pairs` (any range of std::pair<K, V>, e.g. a std::map) atomically.
  template <class Range>
  void update(const Range& pairs) {
    std::vector<std::string> flat;
    for (const auto& [k, v] : pairs) {
      flat.push_back(detail::encode(k));
      flat.push_back(detail::encode(v));
    }
    if (!flat.empty()) h_.update(flat);
  }
  void update(std::initializer_list<value_type> pairs) { update(std::vector<value_type>(pairs)); }

  // Removes `key` and returns its value, atomically; mp::KeyError if missing.
  V pop(const K& key) {
    auto v = h_.pop(detail::encode(key));
    if (!v) detail::throw_key_error(detail::encode(key));
    return detail::decode<V>(*v, "a dict value");
  }
  V pop(const K& key, const V& fallback) {
    auto v = h_.pop(detail::encode(key));
    return v ? detail::decode<V>(*v, "a dict value") : fallback;
  }
  // Removes and returns the last inserted pair, atomically; mp::KeyError if empty.
  value_type popitem() {
    auto kv = h_.popitem();
    if (!kv) throw KeyError("popitem(): dictionary is empty");
    return {detail::decode<K>(kv->first, "a dict key"),
            detail::decode<V>(kv->second, "a dict value")};
  }
  // The value of `key`, inserting `fallback` first if missing; atomic.
  V setdefault(const K& key, const V& fallback) {
    return detail::decode<V>(h_.setdefault(detail::encode(key), detail::encode(fallback)),
                             "a dict value");
  }
  void clear() { h_.clear(); }

  // Adds `by` to the value of `key` (a missing key counts as 0) on the server, atomically, and
  // returns the new value: HINCRBY for integers, HINCRBYFLOAT for floating point. Concurrent
  // incr() calls from any number of processes never lose an update. mp::OSError if the stored
  // value is not a number of that kind.
  V incr(const K& key, V by = V{1}) requires kArithmetic {
    if constexpr (std::is_floating_point_v<V>) {
      return detail::decode<V>(h_.incr_float(detail::encode(key), by), "a dict value");
    } else {
      return static_cast<V>(h_.incr_int(detail::encode(key), static_cast<long long>(by)));
    }
  }

  Iterator begin() const {
    return Iterator(std::make_shared<const std::vector<value_type>>(items()), 0);
  }
  Iterator end() const { return Iterator(); }
  KeyIterator iter() const { return KeyIterator(*this); }

  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const DictProxy& d) {
    jv = d.h_.to_json();
  }
  friend DictProxy tag_invoke(boost::json::value_to_tag<DictProxy>, const boost::json::value& jv) {
    return DictProxy(detail::DictHandle::attach(jv));
  }

  const detail::ObjectRef& ref() const { return h_.ref(); }
  DictProxy() = default;  // a new dict; prefer Manager::dict() so the manager deletes it

 private:
  explicit DictProxy(detail::DictHandle h) : h_(std::move(h)) {}
  detail::DictHandle h_;
};

}  // namespace lithops::multiprocessing
