// mp::Manager: Python's multiprocessing.Manager() (a SyncManager), without a server process.
//
//   mp::Manager manager;                          // started (as Python's Manager())
//   auto d = manager.dict<std::string, int>();    // mp::DictProxy
//   auto l = manager.list<int>();                 // mp::ListProxy
//   auto s = manager.set<int>({1, 2});            // mp::SetProxy
//   auto ns = manager.Namespace();                // mp::NamespaceProxy
//   auto q = manager.Queue<int>(2);               // an mp::Queue<int>, owned by the manager
//   mp::Process p(worker, d, l, ns, q); p.start(); p.join();
//   manager.shutdown();                           // or at the end of its scope
//
// Every object lives in Redis, so there is nothing to serve: the proxies talk to Redis directly
// and a proxy passed to a Process or Pool task (or stored inside another proxy) re-attaches to the
// same object. What the Manager adds is a registry (docs/manager.md): its objects are
// reference-counted in Redis (every live handle group in any process and every serialised copy
// holds a reference) and deleted when the count reaches zero (MG-17); shutdown() (or the
// destructor) deletes whatever is left, whatever handles remain (Python: the manager's server
// process exits and takes its objects with it). Like every key of the session, they also expire
// after REDIS_EXPIRY_TIME without writes.
//
// The primitives (Value, Array, Queue, JoinableQueue, Lock, RLock, Semaphore, BoundedSemaphore,
// Condition, Event, Barrier) are the top-level types with the same semantics; only the owner
// differs. SharedMemory/ShareableList made here are unlinked at shutdown (SharedMemoryManager).
// User types: register_type<T>() and create<T>() (object_proxy.hpp, MG-14). Other processes and
// drivers on the same Redis reach a manager by address() and authkey with connect() (MG-15).
//
// Creating through a manager that is not started or was shut down raises mp::ProcessError. Store
// failures raise mp::OSError. Creating is thread-safe; shutdown() must not race with creations.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
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
#include "lithops/multiprocessing/object_proxy.hpp"
#include "lithops/multiprocessing/process.hpp"
#include "lithops/multiprocessing/queue.hpp"
#include "lithops/multiprocessing/semaphore.hpp"
#include "lithops/multiprocessing/set_proxy.hpp"
#include "lithops/multiprocessing/shared_memory.hpp"
#include "lithops/multiprocessing/value.hpp"

namespace lithops::multiprocessing {

struct ManagerOptions {
  // A name other processes and drivers on the same Redis connect to (Python's address):
  // address() is then "<redis endpoint>#lithops:manager:{<name>}". Empty: a private name in this
  // session (still connectable by address()). Only one running manager may hold a name.
  std::string address;
  // Python's authkey: connect() must present the same bytes (mp::AuthenticationError otherwise).
  // Redis keeps only its SHA-1.
  std::string authkey;
  // start(initializer, ...) waits this long for the initializer (mp::TimeoutError after it).
  std::chrono::seconds start_timeout{120};
};

class Manager {
 public:
  // Starts at once (connects to the session's store, starting the runtime if needed).
  Manager();
  explicit Manager(ManagerOptions options);
  // Python's SyncManager(): not started; call start() (or enter()) before creating objects.
  struct Deferred {};
  static constexpr Deferred deferred{};
  explicit Manager(Deferred, ManagerOptions options = {});
  // Python's manager.connect(): a client of the manager at `address` (another process's or
  // driver's; same Redis). It creates objects in that manager's registry and reaches its
  // registered objects and types; its shutdown() only disconnects. mp::OSError if no manager
  // runs there (Python's ConnectionRefusedError), mp::AuthenticationError for a wrong authkey,
  // mp::ConfigError if the address names another Redis than this session's.
  static Manager connect(const std::string& address, const std::string& authkey = "");
  // shutdown().
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Starts a deferred manager; a no-op on a running one; mp::ProcessError after shutdown(), or if
  // another running manager holds the address (Python: address in use).
  void start();
  // Python's start(initializer, initargs): starts, then runs initializer(args...) once as a
  // Process (the analogue of the manager's server process) and waits for it (up to
  // ManagerOptions::start_timeout). initializer must be registered with LITHOPS_FUNCTION; a
  // non-callable does not compile (Python: TypeError). mp::ProcessError if the manager is already
  // started or the initializer fails (the manager is then shut down).
  template <class F, class... A>
  requires std::is_invocable_v<
      std::decay_t<decltype(detail::to_function_pointer(std::declval<F>()))>, A...>
  void start(F&& initializer, A&&... args) {
    check_initial();
    start();
    Process p(ProcessOptions{"SyncManager-initializer", std::nullopt}, std::forward<F>(initializer),
              std::forward<A>(args)...);
    run_initializer(p);
  }
  // Deletes every object the manager holds (one round trip for all proxies and primitives,
  // one per SharedMemory/ShareableList) and stops it. Idempotent. Store errors are reported on
  // stderr, not thrown (the keys then expire).
  void shutdown();
  bool running() const;
  // Python's `with manager:`: starts the manager if needed; the guard shuts it down at its end.
  class Scope {
   public:
    ~Scope() { m_.shutdown(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    friend class Manager;
    explicit Scope(Manager& m) : m_(m) {}
    Manager& m_;
  };
  [[nodiscard]] Scope enter() {
    start();
    return Scope(*this);
  }

  // Where connect() reaches this manager: "<redis endpoint>#<registry key>".
  std::string address() const;

  // Python's register('name', callable=...) for a shared object: other processes and connected
  // clients get it with get<H>(name). The registry holds a reference to it until shutdown.
  template <class H>
  void register_object(const std::string& name, const H& handle) {
    check_running();
    set_registry_field("obj:" + name, boost::json::serialize(boost::json::value_from(handle)));
  }
  // The object registered as `name`; mp::AttributeError if none is.
  template <class H>
  H get(const std::string& name) {
    check_running();
    return detail::decode<H>(registry_field("obj:" + name, "object"), "a registered object");
  }

  // Python's register(typeid, callable=T, exposed=...): T (described with
  // BOOST_DESCRIBE_STRUCT) becomes creatable with create<T>(type_id), by this manager and its
  // connected clients. exposed: the methods callable through the proxy (default: the public
  // described ones whose name does not start with '_'). mp::ValueError naming a method T lacks.
  template <class T>
  void register_type(const std::string& type_id,
                     std::optional<std::vector<std::string>> exposed = std::nullopt) {
    check_running();
    std::vector<std::string> names = exposed ? *exposed : detail::public_methods<T>();
    for (const auto& n : names) {
      if (!detail::has_method<T>(n)) {
        throw ValueError("register_type(\"" + type_id + "\"): the type has no described method '" +
                         n + "' (list it in BOOST_DESCRIBE_STRUCT)");
      }
    }
    boost::json::array arr;
    for (const auto& n : names) arr.emplace_back(n);
    set_registry_field("type:" + type_id,
                       boost::json::serialize(boost::json::object{{"cpp", typeid(T).name()},
                                                                  {"exposed", std::move(arr)}}));
  }
  // Python's manager.Foo(): a new object of the type registered as `type_id`, with state
  // `initial`. mp::AttributeError if `type_id` is not registered, mp::TypeError if it was
  // registered with another type.
  template <class T>
  ObjectProxy<T> create(const std::string& type_id, const T& initial = T{}) {
    auto exposed = registered_type(type_id, typeid(T).name());
    return make([&] { return ObjectProxy<T>(type_id, exposed, initial); });
  }

  // Python's manager.set(iterable): a SetProxy from any range of T (a std::set, a vector), or the
  // keys of a map (a range of std::pair<const T, V>).
  template <class T>
  SetProxy<T> set() {
    return make([] { return SetProxy<T>(); });
  }
  template <class T, std::ranges::input_range R>
  SetProxy<T> set(const R& items) {
    auto s = set<T>();
    using Item = std::ranges::range_value_t<R>;
    if constexpr (requires(const Item& i) {
                    { i.first } -> std::convertible_to<const T&>;
                  } &&
                  !std::is_convertible_v<const Item&, const T&>) {
      typename SetProxy<T>::local_type keys;
      for (const auto& [k, v] : items) keys.insert(k);
      s.update(keys);
    } else {
      s.update(items);
    }
    return s;
  }
  template <class T>
  SetProxy<T> set(std::initializer_list<T> items) {
    return set<T>(std::vector<T>(items));
  }
  // From JSON: an array's items, an object's keys or a string's characters; anything else raises
  // mp::TypeError (Python's set(1234): "'int' object is not iterable").
  SetProxy<boost::json::value> set(const boost::json::value& iterable);

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

  // Python's _number_of_objects(): the objects the registry holds now (a Value and its Lock
  // count as one; SharedMemory not counted). One round trip.
  std::size_t number_of_objects() const;
  // Every Redis key of the objects it holds (diagnostics and tests).
  std::vector<std::string> keys() const;

 private:
  struct State;
  struct Connect {};
  Manager(Connect, const std::string& address, const std::string& authkey);
  void check_running() const;
  void check_initial() const;
  void run_initializer(Process& p);
  void adopt_shm(const std::string& name, bool list);
  void set_registry_field(const std::string& field, const std::string& value);
  std::string registry_field(const std::string& field, const char* what);
  std::vector<std::string> registered_type(const std::string& type_id, const char* cpp);
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
