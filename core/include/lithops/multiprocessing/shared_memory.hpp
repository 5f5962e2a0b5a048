// mp::SharedMemory and mp::ShareableList<T>: Python's multiprocessing.shared_memory on Redis.
//
//   mp::SharedMemory shm("blk", /*create=*/true, 64 << 20);   // 64 MiB, zero-filled
//   shm.write(1000, std::string_view("hello"));
//   std::string s = shm.read(1000, 5);                         // only that range travels
//   shm.buf()[0] = 42;                                         // one round trip per byte
//   mp::SharedMemory other("blk");                             // attach by name, any process
//
// Naming and lifetime (docs/manager.md): a block is global by name, like a POSIX shm segment: its
// keys live under `lithops:shm:{<name>}`, outside the session namespace, so another driver on the
// same Redis can attach by name. It lives until unlink() (a Manager-made one: until the manager
// shuts down), but it also expires REDIS_EXPIRY_TIME after the last access through any handle, so
// a crashed program does not leak it forever (Python's resource tracker, SM-09), and a tracked
// block (the default) is unlinked when the session that created or attached it ends without
// unlinking it (SM-10, see the constructor). close() only ends this handle's use.
//
// Storage: the block is cut into 1 MiB chunks, one Redis string each, created on first write (an
// unwritten chunk reads as zeros). read()/write() of a range touch only the chunks it covers
// (GETRANGE: one round trip per chunk, received straight into the caller's buffer; SETRANGE:
// pipelined, one round trip per MiB), so a 256 MiB block needs no 256 MiB Redis value and a 4 KiB
// read moves 4 KiB.
//
// Errors: creating an existing name raises mp::FileExistsError; attaching to (or unlinking) a
// missing one mp::FileNotFoundError (both derive from mp::OSError); a bad name or size
// mp::ValueError; a range past size() mp::ValueError; any use but unlink() after close()
// mp::ValueError; a read or write after the block was unlinked mp::FileNotFoundError. Store
// failures raise mp::OSError. Concurrent writes to overlapping ranges are not ordered, as with real
// shared memory; each chunk's part of a write is atomic. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lithops/multiprocessing/proxy_common.hpp"

namespace lithops::multiprocessing {
namespace detail {
struct ShmState;
struct ShmListState;
}  // namespace detail

class SharedMemory {
 public:
  // Python's SharedMemory(name=None, create=False, size=0, *, track=True). create: a new block
  // of `size` > 0 bytes (mp::ValueError otherwise) named `name`, or a fresh random "psm_..." name
  // when std::nullopt (retrying on a clash, SM-03). Attach (create false): `size` is ignored, the
  // block's own size is used; a name is required.
  // track (SM-10): the session (this driver and its workers: Python's resource tracker) records
  // the name, and when the driver's session ends it unlinks every recorded block nobody unlinked,
  // with a "leaked shared_memory objects" warning on stderr. track=false leaves the block alone
  // (attach with it from a program that must not end the block's life).
  SharedMemory(std::optional<std::string> name, bool create = false, std::int64_t size = 0,
               bool track = true);
  // A new block of `size` bytes with a generated name.
  explicit SharedMemory(std::int64_t size) : SharedMemory(std::nullopt, true, size) {}

  const std::string& name() const;
  std::size_t size() const;

  // `len` bytes from `offset` (one round trip for the chunks covered).
  std::string read(std::size_t offset, std::size_t len) const;
  void read_into(std::size_t offset, std::span<std::byte> out) const;
  // Writes `bytes` at `offset`: one round trip per MiB written (see shared_memory.cpp).
  void write(std::size_t offset, std::string_view bytes);
  void write(std::size_t offset, std::span<const std::byte> bytes);

  // One byte of the block: reads and writes go to the store (one round trip each); use
  // read()/write() for anything bigger.
  class ByteRef {
   public:
    operator std::uint8_t() const;  // NOLINT(google-explicit-constructor)
    ByteRef& operator=(std::uint8_t v);
    ByteRef& operator=(const ByteRef& other) { return *this = static_cast<std::uint8_t>(other); }

   private:
    friend class SharedMemory;
    ByteRef(const SharedMemory* shm, std::size_t i) : shm_(shm), i_(i) {}
    const SharedMemory* shm_;
    std::size_t i_;
  };
  // Python's shm.buf: a byte view of the whole block (no local copy).
  class Buffer {
   public:
    ByteRef operator[](std::size_t i) const { return ByteRef(shm_, i); }
    std::size_t size() const { return shm_->size(); }

   private:
    friend class SharedMemory;
    explicit Buffer(const SharedMemory* shm) : shm_(shm) {}
    const SharedMemory* shm_;
  };
  Buffer buf() const { return Buffer(this); }

  // Ends this handle's use (local; no round trip). Idempotent.
  void close();
  bool closed() const;
  // Deletes the block from the store; every handle then fails with mp::FileNotFoundError, and the
  // name can be created again. mp::FileNotFoundError if it is already gone.
  void unlink();
  // "SharedMemory('name', size=N)".
  std::string repr() const;

  // Handle conversion: only the name travels; converting back attaches (FileNotFoundError if the
  // block was unlinked, SM-06).
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv,
                         const SharedMemory& s);
  friend SharedMemory tag_invoke(boost::json::value_to_tag<SharedMemory>,
                                 const boost::json::value& jv);

 private:
  void check_open() const;
  std::shared_ptr<detail::ShmState> s_;
};

namespace detail {
// The type-independent ShareableList (items as JSON text). shared_memory.cpp.
class ShmListHandle {
 public:
  static ShmListHandle create(std::optional<std::string> name,
                              const std::vector<std::string>& items);
  static ShmListHandle attach(const std::string& name);

  std::string get(long long i) const;
  void set(long long i, std::string_view item);
  std::size_t size() const;
  long long count(std::string_view item) const;
  std::optional<long long> index(std::string_view item) const;
  std::vector<std::string> all() const;
  const std::string& name() const;
  void close();
  void unlink();
  boost::json::value to_json() const;

 private:
  long long checked(long long i) const;
  std::shared_ptr<ShmListState> s_;
};
}  // namespace detail

// Python's ShareableList: a fixed-length list of T stored under a shared-memory name (a Redis
// list under the same `lithops:shm:` namespace and lifetime rules as SharedMemory). Items are
// any type Boost.JSON converts (boost::json::value for Python's mixed lists); unlike Python there
// is no per-slot byte budget, so a longer string always fits. Reads and writes by index are one
// round trip each; count()/index() run on the server. Errors as SharedMemory, plus mp::IndexError
// for an index out of range and mp::ValueError from index() when the item is absent.
template <class T>
class ShareableList {
 public:
  // A new list holding `items` under a generated name, or under `name` (mp::FileExistsError if
  // taken). Python's ShareableList(sequence, name=...).
  explicit ShareableList(const std::vector<T>& items,
                         std::optional<std::string> name = std::nullopt)
      : h_(detail::ShmListHandle::create(std::move(name), encode_all(items))) {}
  // Python's ShareableList(name=...): attaches (mp::FileNotFoundError if missing).
  static ShareableList attach(const std::string& name) {
    return ShareableList(detail::ShmListHandle::attach(name));
  }

  class Reference {
   public:
    operator T() const { return l_->at(i_); }  // NOLINT(google-explicit-constructor)
    Reference& operator=(const T& v) {
      l_->set(i_, v);
      return *this;
    }

   private:
    friend class ShareableList;
    Reference(ShareableList* l, long long i) : l_(l), i_(i) {}
    ShareableList* l_;
    long long i_;
  };
  Reference operator[](long long i) { return Reference(this, i); }
  // Item i (negative counts from the end); mp::IndexError if out of range.
  T at(long long i) const { return detail::decode<T>(h_.get(i), "a ShareableList item"); }
  void set(long long i, const T& v) { h_.set(i, detail::encode(v)); }
  std::size_t size() const { return h_.size(); }
  std::size_t count(const T& v) const {
    return static_cast<std::size_t>(h_.count(detail::encode(v)));
  }
  std::size_t index(const T& v) const {
    auto i = h_.index(detail::encode(v));
    if (!i) throw ValueError("value not in ShareableList");
    return static_cast<std::size_t>(*i);
  }
  std::vector<T> to_vector() const {
    std::vector<T> out;
    for (const auto& e : h_.all()) out.push_back(detail::decode<T>(e, "a ShareableList item"));
    return out;
  }
  const std::string& name() const { return h_.name(); }
  void close() { h_.close(); }
  void unlink() { h_.unlink(); }

  // Only the name travels (SL-02); converting back attaches.
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv,
                         const ShareableList& l) {
    jv = l.h_.to_json();
  }
  friend ShareableList tag_invoke(boost::json::value_to_tag<ShareableList>,
                                  const boost::json::value& jv) {
    const auto* o = jv.if_object();
    const auto* n = o ? o->if_contains("name") : nullptr;
    if (!n || !n->is_string()) throw TypeError("expected a ShareableList handle");
    return attach(std::string(n->get_string()));
  }

 private:
  explicit ShareableList(detail::ShmListHandle h) : h_(std::move(h)) {}
  static std::vector<std::string> encode_all(const std::vector<T>& items) {
    std::vector<std::string> out;
    out.reserve(items.size());
    for (const auto& v : items) out.push_back(detail::encode(v));
    return out;
  }
  detail::ShmListHandle h_;
};

}  // namespace lithops::multiprocessing
