// mp::Array<T>: a fixed-size shared array (Python's multiprocessing.Array), one Redis list.
//
//   mp::Array<int> a(10);                          // Array('i', 10): zero-filled, new RLock
//   mp::Array<double> b(std::vector<double>{1, 2}); // Array('d', [1, 2])
//   a[3] = 7;  int x = a[3];                       // one round trip each
//   std::vector<int> part = a.slice(2, 7);         // a[2:7]
//   a.set_slice(4, {1, 2, 3, 4});                  // a[4:8] = [1, 2, 3, 4], atomically
//   for (int v : a) ...                            // iterates over one snapshot
//   mp::Array<char> s(20);  s.set_value("hello");  // Array('c', 20); s.value = b'hello'
//   std::string str = s.value();                   // the bytes up to the first NUL
//   mp::Array<int> snapshot = mp::copy(a);         // sharedctypes.copy: new and independent
//
// T is an arithmetic type or a struct described with BOOST_DESCRIBE_STRUCT (each element then
// one JSON text: elements are read and written whole; per-field atomic updates are what
// mp::Value<S> offers). C++ types replace typecodes, so Python's "bad typecode" TypeError
// (AR-05) is a compile-time error. The size is fixed at creation and travels in the handle, so
// bounds are checked locally: an index or slice outside the array raises mp::ValueError (Python:
// IndexError). Each call is one round trip and atomic on the server; a sequence of calls that
// must not interleave with other writers takes get_lock(). Errors as for mp::Value.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lithops/multiprocessing/value.hpp"

namespace lithops::multiprocessing {

namespace detail {
ObjectRef array_create(std::string_view type, std::span<const std::string> values,
                       boost::json::value lock);
std::size_t array_size(const ObjectRef& ref);
std::string array_get(const ObjectRef& ref, std::size_t i);
void array_set(const ObjectRef& ref, std::size_t i, std::string_view v);
// [start, stop) after clamping to the size, as a Python slice with a step of 1.
std::vector<std::string> array_range(const ObjectRef& ref, std::size_t start, std::size_t stop);
void array_set_range(const ObjectRef& ref, std::size_t start, std::span<const std::string> values);
}  // namespace detail

template <class T>
class Array {
  static_assert(std::is_arithmetic_v<T> || detail::is_described_struct<T>,
                "mp::Array<T>: T must be an arithmetic type or a struct described with "
                "BOOST_DESCRIBE_STRUCT (this replaces Python's 'bad typecode' TypeError)");
  using Codec = detail::Codec<T>;

 public:
  // Element access through a handle: reads and writes go to Redis.
  class Reference {
   public:
    operator T() const { return Codec::decode(detail::array_get(*ref_, i_)); }  // NOLINT
    Reference& operator=(const T& v) {
      detail::array_set(*ref_, i_, Codec::encode(v));
      return *this;
    }
    Reference& operator=(const Reference& other) { return *this = static_cast<T>(other); }
    Reference(const Reference&) = default;

   private:
    friend class Array;
    Reference(const detail::ObjectRef* ref, std::size_t i) : ref_(ref), i_(i) {}
    const detail::ObjectRef* ref_;
    std::size_t i_;
  };

  // Iterates over a snapshot taken by begin() (one LRANGE).
  class Iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    T operator*() const { return (*snapshot_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    Iterator operator++(int) {
      auto old = *this;
      ++i_;
      return old;
    }
    friend bool operator==(const Iterator& it, std::default_sentinel_t) {
      return it.i_ >= it.snapshot_->size();
    }

   private:
    friend class Array;
    explicit Iterator(std::shared_ptr<const std::vector<T>> s) : snapshot_(std::move(s)) {}
    std::shared_ptr<const std::vector<T>> snapshot_;
    std::size_t i_ = 0;
  };

  // n zeros, with a new RLock.
  explicit Array(std::size_t n) : Array(std::vector<T>(n), RLock()) {}
  explicit Array(const std::vector<T>& values) : Array(values, RLock()) {}
  Array(std::initializer_list<T> values) : Array(std::vector<T>(values), RLock()) {}
  Array(std::size_t n, RLock lock) : Array(std::vector<T>(n), std::move(lock)) {}
  Array(const std::vector<T>& values, RLock lock)
      : lock_(std::move(lock)),
        ref_(detail::array_create(Codec::type_name(), encode(values), lock_->ref().to_json())) {}
  Array(std::size_t n, NoLock) : Array(std::vector<T>(n), no_lock) {}
  Array(const std::vector<T>& values, NoLock)
      : ref_(detail::array_create(Codec::type_name(), encode(values), nullptr)) {}

  std::size_t size() const { return detail::array_size(ref_); }
  T operator[](std::size_t i) const { return Codec::decode(detail::array_get(ref_, i)); }
  Reference operator[](std::size_t i) { return Reference(&ref_, i); }
  T get(std::size_t i) const { return (*this)[i]; }
  void set(std::size_t i, const T& v) { detail::array_set(ref_, i, Codec::encode(v)); }

  // Elements [start, stop), clamped to the size (an empty vector when start >= stop).
  std::vector<T> slice(std::size_t start, std::size_t stop) const {
    return decode(detail::array_range(ref_, start, stop));
  }
  // Writes values at start, start+1, ... in one atomic script; the whole range must fit
  // (Python's slice assignment also rejects a size change).
  void set_slice(std::size_t start, const std::vector<T>& values) {
    const auto enc = encode(values);
    detail::array_set_range(ref_, start, enc);
  }
  void set_slice(std::size_t start, std::initializer_list<T> values) {
    set_slice(start, std::vector<T>(values));
  }
  // arr[:] = values: values.size() must equal size().
  void assign(const std::vector<T>& values) {
    if (values.size() != size()) {
      throw ValueError("mp::Array::assign: " + std::to_string(values.size()) +
                       " values for an array of " + std::to_string(size()));
    }
    set_slice(0, values);
  }
  std::vector<T> to_vector() const { return slice(0, size()); }

  // Array<char> as a C string, as Python's Array('c', n).value: value() is the bytes up to the
  // first NUL (one LRANGE); set_value(s) writes s and, if it is shorter than the array, a NUL
  // after it, atomically (mp::ValueError if s is longer than the array). raw() is every byte.
  std::string value() const requires std::is_same_v<T, char> {
    std::string s = raw();
    return s.substr(0, s.find('\0'));
  }
  void set_value(std::string_view s) requires std::is_same_v<T, char> {
    const std::size_t n = size();
    if (s.size() > n) {
      throw ValueError("mp::Array<char>::set_value: a string of " + std::to_string(s.size()) +
                       " bytes does not fit an array of " + std::to_string(n) +
                       " (byte string too long); create a larger array");
    }
    std::vector<char> bytes(s.begin(), s.end());
    if (bytes.size() < n) bytes.push_back('\0');
    set_slice(0, bytes);
  }
  std::string raw() const requires std::is_same_v<T, char> {
    const auto v = to_vector();
    return std::string(v.begin(), v.end());
  }

  Iterator begin() const { return Iterator(std::make_shared<const std::vector<T>>(to_vector())); }
  std::default_sentinel_t end() const { return {}; }

  // As Value::get_lock().
  RLock& get_lock() {
    if (!lock_) detail::throw_no_lock();
    return *lock_;
  }
  bool has_lock() const { return lock_.has_value(); }

  const detail::ObjectRef& ref() const { return ref_; }
  explicit Array(detail::ObjectRef ref) : lock_(detail::lock_of(ref)), ref_(std::move(ref)) {}

 private:
  static std::vector<std::string> encode(const std::vector<T>& values) {
    std::vector<std::string> out;
    out.reserve(values.size());
    for (const auto& v : values) out.push_back(Codec::encode(v));
    return out;
  }
  static std::vector<T> decode(const std::vector<std::string>& values) {
    std::vector<T> out;
    out.reserve(values.size());
    for (const auto& v : values) out.push_back(Codec::decode(v));
    return out;
  }
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Array& a) {
    jv = a.ref_.to_json();
  }
  friend Array tag_invoke(boost::json::value_to_tag<Array>, const boost::json::value& jv) {
    return Array(detail::attach_typed(jv, "array", Codec::type_name()));
  }

  std::optional<RLock> lock_;
  detail::ObjectRef ref_;
};

// Python's RawArray: an Array without a lock.
template <class T>
Array<T> RawArray(const std::vector<T>& values) {
  return Array<T>(values, no_lock);
}
template <class T>
Array<T> RawArray(std::size_t n) {
  return Array<T>(n, no_lock);
}

// Python's sharedctypes.copy(arr): a new shared array, without a lock, holding what `a` holds now
// (one read, then one write). Changing either afterwards leaves the other as it is.
template <class T>
Array<T> copy(const Array<T>& a) {
  return Array<T>(a.to_vector(), no_lock);
}

}  // namespace lithops::multiprocessing
