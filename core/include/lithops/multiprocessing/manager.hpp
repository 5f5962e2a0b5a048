// mp::Manager: Python's multiprocessing.Manager() (a SyncManager), without a server process.
//
//   mp::Manager manager;                          // started (as Python's Manager())
//   auto d = manager.dict<std::string, int>();    // mp::DictProxy
//   auto l = manager.list<int>();                 // mp::ListProxy
//   auto ns = manager.Namespace();                // mp::NamespaceProxy
//   auto q = manager.Queue<int>(2);               // an mp::Queue<int>, owned by the manager
//   mp::Process p(worker, d, l, ns, q); p.start(); p.join();
//   manager.shutdown();                           // or at the end of its scope
//
// Every object lives in Redis, so there is nothing to serve: the proxies talk to Redis directly
// and a proxy passed to a Process or Pool task (or stored inside another proxy) re-attaches to the
// same object. What the Manager adds is ownership: everything it creates belongs to it, not to
// the handles, and is deleted from the store by shutdown() (or the destructor), whatever handles
// remain (Python: the manager's server process exits and takes its objects with it). Until then
// an object outlives its handles. Like every key of the session, they also expire after
// REDIS_EXPIRY_TIME without writes.
//
// The primitives (Value, Array, Queue, JoinableQueue, Lock, RLock, Semaphore, BoundedSemaphore,
// Condition, Event, Barrier) are the top-level types with the same semantics; only the owner
// differs. SharedMemory/ShareableList made here are unlinked at shutdown (SharedMemoryManager).
//
// Creating through a manager that was shut down raises mp::ProcessError. Store failures raise
// mp::OSError. Creating is thread-safe; shutdown() must not race with creations.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "lithops/multiprocessing/array.hpp"
#include "lithops/multiprocessing/barrier.hpp"
#include "lithops/multiprocessing/condition.hpp"
#include "lithops/multiprocessing/dict_proxy.hpp"
#include "lithops/multiprocessing/event.hpp"
#include "lithops/multiprocessing/list_proxy.hpp"
#include "lithops/multiprocessing/lock.hpp"
#include "lithops/multiprocessing/namespace_proxy.hpp"
#include "lithops/multiprocessing/queue.hpp"
#include "lithops/multiprocessing/semaphore.hpp"
#include "lithops/multiprocessing/shared_memory.hpp"
#include "lithops/multiprocessing/value.hpp"

namespace lithops::multiprocessing {

class Manager {
 public:
  // Starts at once (connects to the session's store, starting the runtime if needed).
  Manager();
  // shutdown().
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // A no-op on a running manager; mp::ProcessError after shutdown() (as Python's).
  void start();
  // Deletes every object the manager created (one round trip for all proxies and primitives,
  // one per SharedMemory/ShareableList) and stops it. Idempotent. Store errors are reported on
  // stderr, not thrown (the keys then expire).
  void shutdown();
  bool running() const;

  template <class K, class V>
  DictProxy<K, V> dict() {
    return make([] { return DictProxy<K, V>(); });
  }
  // Python's manager.dict(mapping): any range of std::pair<K, V>.
  template <class K, class V, class Range>
  DictProxy<K, V> dict(const Range& pairs) {
    auto d = dict<K, V>();
    d.update(pairs);
    return d;
  }
  template <class T>
  ListProxy<T> list() {
    return make([] { return ListProxy<T>(); });
  }
  template <class T>
  ListProxy<T> list(const std::vector<T>& items) {
    auto l = list<T>();
    l.extend(items);
    return l;
  }
  NamespaceProxy Namespace() {
    return make([] { return NamespaceProxy(); });
  }

  template <class T>
  ::lithops::multiprocessing::Value<T> Value(const T& v = T{}) {
    return make([&] { return ::lithops::multiprocessing::Value<T>(v); });
  }
  template <class T>
  ::lithops::multiprocessing::Array<T> Array(std::size_t n) {
    return make([&] { return ::lithops::multiprocessing::Array<T>(n); });
  }
  template <class T>
  ::lithops::multiprocessing::Array<T> Array(const std::vector<T>& values) {
    return make([&] { return ::lithops::multiprocessing::Array<T>(values); });
  }
  template <class T>
  ::lithops::multiprocessing::Queue<T> Queue(long long maxsize = 0) {
    return make([&] { return ::lithops::multiprocessing::Queue<T>(maxsize); });
  }
  template <class T>
  ::lithops::multiprocessing::JoinableQueue<T> JoinableQueue(long long maxsize = 0) {
    return make([&] { return ::lithops::multiprocessing::JoinableQueue<T>(maxsize); });
  }
  ::lithops::multiprocessing::Lock Lock() {
    return make([] { return ::lithops::multiprocessing::Lock(); });
  }
  ::lithops::multiprocessing::RLock RLock() {
    return make([] { return ::lithops::multiprocessing::RLock(); });
  }
  ::lithops::multiprocessing::Semaphore Semaphore(long long value = 1) {
    return make([&] { return ::lithops::multiprocessing::Semaphore(value); });
  }
  ::lithops::multiprocessing::BoundedSemaphore BoundedSemaphore(long long value = 1) {
    return make([&] { return ::lithops::multiprocessing::BoundedSemaphore(value); });
  }
  ::lithops::multiprocessing::Condition Condition() {
    return make([] { return ::lithops::multiprocessing::Condition(); });
  }
  template <class L>
  ::lithops::multiprocessing::Condition Condition(const L& lock) {
    return make([&] { return ::lithops::multiprocessing::Condition(lock); });
  }
  ::lithops::multiprocessing::Event Event() {
    return make([] { return ::lithops::multiprocessing::Event(); });
  }
  ::lithops::multiprocessing::Barrier Barrier(int parties) {
    return make([&] { return ::lithops::multiprocessing::Barrier(parties); });
  }
  template <class Rep, class Period>
  ::lithops::multiprocessing::Barrier Barrier(int parties,
                                              std::chrono::duration<Rep, Period> timeout) {
    return make([&] { return ::lithops::multiprocessing::Barrier(parties, timeout); });
  }

  // SharedMemoryManager: a new block (generated name) unlinked at shutdown.
  ::lithops::multiprocessing::SharedMemory SharedMemory(std::int64_t size);
  template <class T>
  ::lithops::multiprocessing::ShareableList<T> ShareableList(const std::vector<T>& items) {
    check_running();
    ::lithops::multiprocessing::ShareableList<T> l(items);
    adopt_shm(l.name(), true);
    return l;
  }

  // Objects the manager owns now (Python's _number_of_objects(); SharedMemory not counted).
  std::size_t number_of_objects() const;
  // Every Redis key of the objects it owns (diagnostics and tests).
  std::vector<std::string> keys() const;

 private:
  struct State;
  void check_running() const;
  void adopt_shm(const std::string& name, bool list);
  // Runs `create` with this manager's scope as the owner of what it creates.
  template <class F>
  std::invoke_result_t<F&> make(F&& create) {
    check_running();
    detail::ObjectScope::Enter owner(scope_);
    return create();
  }

  detail::ObjectScope scope_;
  std::unique_ptr<State> state_;
};

}  // namespace lithops::multiprocessing
