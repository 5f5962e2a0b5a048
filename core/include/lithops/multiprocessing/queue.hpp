// mp::Queue<T>, mp::SimpleQueue<T>, mp::JoinableQueue<T>: FIFO queues shared by every process of
// the session (multiprocessing.Queue, SimpleQueue, JoinableQueue), stored as Redis lists.
//
//   mp::Queue<std::string> q;             // unbounded; mp::Queue<int> q(6) holds at most 6
//   mp::Process p(consumer, q); p.start();
//   q.put("hello");
//   std::string s = q.get(std::chrono::seconds(1));   // mp::Empty if nothing came in time
//
// Items are any type Boost.JSON converts (value_from / value_to). Serialisation happens in put(),
// so an item that does not serialise throws there and nothing reaches the queue (QU-07/08).
// An item that does not convert back to T throws mp::TypeError from get() (the item is consumed).
//
// A queue is a handle (see shared_object.hpp): copies, and copies passed to a Process or Pool
// task or through another Queue, name the same queue. Every handle of one queue in one process
// shares that process's local state (pending puts, prefetched items, closed flag). The creating
// process owns the queue: when its last handle goes away the Redis keys are deleted, so keep one
// alive while children use it.
//
// Put batching (like CPython's feeder thread): on an unbounded Queue or SimpleQueue a put() that
// follows closely on another returns before the server has the item; a background thread sends
// pending items in pipelined batches. Pending items are sent before any get/qsize/empty/full/
// close on the same queue in this process, and when its last handle in the process goes away, so
// a process sees its own puts in order. A failure to send is rethrown by the next call on the
// queue. Bounded queues and JoinableQueue put synchronously (one round trip), because the slot
// (or the unfinished-task count) must be taken before put() returns.
//
// Get prefetching: when a backlog is waiting, get() takes up to a few hundred items in one round
// trip and serves the next gets from a local buffer. Prefetched items not consumed within ~50 ms
// (or when the last handle in the process goes away, or on close()) go back to the head of the
// queue, so a process that stops reading does not keep items from others. A process killed while
// holding prefetched items loses them: only a consumer that is behind a backlog prefetches.
#pragma once

#include <charconv>
#include <chrono>
#include <concepts>
#include <memory>
#include <optional>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include "lithops/multiprocessing/common.hpp"
#include "lithops/multiprocessing/errors.hpp"

namespace lithops::multiprocessing {
namespace detail {

struct QueueLocal;
enum class QueueKind { kQueue, kSimple, kJoinable };

// The type-independent queue: items are serialised JSON text.
class QueueHandle {
 public:
  QueueHandle(QueueKind kind, long long maxsize);
  // Re-attaches to the queue a handle describes; mp::TypeError if it names another kind.
  static QueueHandle attach(QueueKind kind, const boost::json::value& handle);

  void put(std::string item, bool block, Timeout timeout);
  std::string get(bool block, Timeout timeout);
  long long qsize();
  bool empty();
  bool full();
  void close();
  void join_thread();
  void shutdown(bool immediate);
  void task_done();
  bool join(Timeout timeout);
  long long maxsize() const;
  boost::json::value to_json() const;

 private:
  explicit QueueHandle(std::shared_ptr<QueueLocal> local) : local_(std::move(local)) {}
  std::shared_ptr<QueueLocal> local_;
};

// Integers (not bool or character types) skip Boost.JSON both ways: their text is the same JSON
// number, and a ping-pong of ints spends measurable time building and parsing json::values
// otherwise. Text that is not a plain integer (another producer's type) goes through Boost.JSON.
template <class T>
concept PlainInteger = std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
                       !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> &&
                       !std::same_as<T, char16_t> && !std::same_as<T, char32_t>;

template <class T>
std::string encode_item(const T& item) {
  if constexpr (PlainInteger<T>) {
    char buf[24];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, item).ptr);
  } else {
    return boost::json::serialize(boost::json::value_from(item));
  }
}

template <class T>
T decode_item(const std::string& text) {
  if constexpr (PlainInteger<T>) {
    T v{};
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec == std::errc() && r.ptr == text.data() + text.size()) return v;
  }
  try {
    return boost::json::value_to<T>(boost::json::parse(text));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw TypeError("a queue item does not convert to the requested type: " +
                    std::string(e.what()) + " (item: " + text.substr(0, 200) + ")");
  }
}

// `bool` exactly: put(x, 1) or get(1) meaning "timeout 1" must not compile as "block".
template <class B>
concept Bool = std::same_as<B, bool>;
}  // namespace detail

// multiprocessing.Queue. maxsize <= 0: unbounded.
//
// put(): blocks while a bounded queue is full. Forms, as Python's put(x, block, timeout):
//   put(x) / put(x, true)            wait as long as it takes
//   put(x, false) / put_nowait(x)    mp::Full at once if full (a timeout given with false is
//   ignored) put(x, timeout) / put(x, true, timeout)   mp::Full if still full after `timeout`
// get(): same forms; mp::Empty at once (non-blocking) or after the timeout.
// After close(), put() and get() raise mp::ValueError ("is closed"). Every call may throw
// mp::OSError if the store is unreachable. Thread-safe: concurrent gets in one process take
// turns, as in Python.
template <class T>
class Queue {
 public:
  explicit Queue(long long maxsize = 0) : h_(detail::QueueKind::kQueue, maxsize) {}

  void put(const T& item) { h_.put(detail::encode_item(item), true, std::nullopt); }
  template <detail::Bool B>
  void put(const T& item, B block) {
    h_.put(detail::encode_item(item), block, std::nullopt);
  }
  template <detail::Bool B, class Rep, class Period>
  void put(const T& item, B block, std::chrono::duration<Rep, Period> timeout) {
    h_.put(detail::encode_item(item), block, detail::to_duration(timeout));
  }
  template <class Rep, class Period>
  void put(const T& item, std::chrono::duration<Rep, Period> timeout) {
    h_.put(detail::encode_item(item), true, detail::to_duration(timeout));
  }
  void put_nowait(const T& item) { h_.put(detail::encode_item(item), false, std::nullopt); }

  T get() { return detail::decode_item<T>(h_.get(true, std::nullopt)); }
  template <detail::Bool B>
  T get(B block) {
    return detail::decode_item<T>(h_.get(block, std::nullopt));
  }
  template <detail::Bool B, class Rep, class Period>
  T get(B block, std::chrono::duration<Rep, Period> timeout) {
    return detail::decode_item<T>(h_.get(block, detail::to_duration(timeout)));
  }
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) {
    return detail::decode_item<T>(h_.get(true, detail::to_duration(timeout)));
  }
  T get_nowait() { return detail::decode_item<T>(h_.get(false, std::nullopt)); }

  // Number of items in the queue (those this process put are counted once put() returned).
  // Approximate under concurrency, as in Python.
  long long qsize() { return h_.qsize(); }
  // qsize() == 0. After close() of a queue this process put to: mp::OSError ("handle is closed").
  bool empty() { return h_.empty(); }
  // A bounded queue holding maxsize items.
  bool full() { return h_.full(); }
  long long maxsize() const { return h_.maxsize(); }
  // This process will not use the queue any more: sends pending puts, returns prefetched items.
  // Other processes are unaffected. Idempotent.
  void close() { h_.close(); }
  // API parity with Python: waits until this process's pending puts are in the store.
  void join_thread() { h_.join_thread(); }
  // Python 3.13's Queue.shutdown, for every process: afterwards put()/put_nowait() raise
  // mp::ShutDown, and get()/get_nowait() raise it once the queue is empty. Gets and puts blocked
  // in any process wake and raise it. immediate: the items are discarded (each counts as done on
  // a JoinableQueue, so join() returns unless a taken item is still unfinished). Irreversible.
  void shutdown(bool immediate = false) { h_.shutdown(immediate); }

  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Queue& q) {
    jv = q.h_.to_json();
  }
  friend Queue tag_invoke(boost::json::value_to_tag<Queue>, const boost::json::value& jv) {
    return Queue(detail::QueueHandle::attach(detail::QueueKind::kQueue, jv));
  }

 protected:
  explicit Queue(detail::QueueHandle h) : h_(std::move(h)) {}
  detail::QueueHandle h_;
};

// multiprocessing.JoinableQueue: a Queue that also counts unfinished tasks. Every put() adds
// one (atomically with the push); task_done() removes one; join() waits for zero.
template <class T>
class JoinableQueue : public Queue<T> {
 public:
  explicit JoinableQueue(long long maxsize = 0)
      : Queue<T>(detail::QueueHandle(detail::QueueKind::kJoinable, maxsize)) {}

  // Marks one item got from the queue as processed. mp::ValueError if called more times than
  // items were put ("task_done() called too many times"). Wakes every join() at zero.
  void task_done() { this->h_.task_done(); }
  // Blocks until every item put was marked done (returns at once if none is outstanding).
  void join() { this->h_.join(std::nullopt); }
  // As join(), for at most `timeout`; returns whether the count reached zero.
  template <class Rep, class Period>
  bool join(std::chrono::duration<Rep, Period> timeout) {
    return this->h_.join(detail::to_duration(timeout));
  }

  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv,
                         const JoinableQueue& q) {
    jv = q.h_.to_json();
  }
  friend JoinableQueue tag_invoke(boost::json::value_to_tag<JoinableQueue>,
                                  const boost::json::value& jv) {
    return JoinableQueue(detail::QueueHandle::attach(detail::QueueKind::kJoinable, jv));
  }

 private:
  explicit JoinableQueue(detail::QueueHandle h) : Queue<T>(std::move(h)) {}
};

// multiprocessing.SimpleQueue: unbounded; put, get (blocks until an item comes), empty, close.
// After close(), put/get/empty raise mp::OSError ("handle is closed"), even if never used.
template <class T>
class SimpleQueue {
 public:
  SimpleQueue() : h_(detail::QueueKind::kSimple, 0) {}

  void put(const T& item) { h_.put(detail::encode_item(item), true, std::nullopt); }
  T get() { return detail::decode_item<T>(h_.get(true, std::nullopt)); }
  bool empty() { return h_.empty(); }
  void close() { h_.close(); }

  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv,
                         const SimpleQueue& q) {
    jv = q.h_.to_json();
  }
  friend SimpleQueue tag_invoke(boost::json::value_to_tag<SimpleQueue>,
                                const boost::json::value& jv) {
    return SimpleQueue(detail::QueueHandle::attach(detail::QueueKind::kSimple, jv));
  }

 private:
  explicit SimpleQueue(detail::QueueHandle h) : h_(std::move(h)) {}
  detail::QueueHandle h_;
};

}  // namespace lithops::multiprocessing
