// The Redis-side identity of a shared object (Queue, Lock, Value, Pipe end, Manager proxy, ...).
//
// Every shared object is a handle: a small value that names the object's keys in the session's
// namespace. Passing one to a Process or Pool task (or through a Queue) serialises the handle; the
// receiver re-attaches to the same keys. The process that created an object owns it: when the
// last copy of the handle in that process goes away, the object's keys are deleted. Every key
// also expires after REDIS_EXPIRY_TIME, so a crashed driver leaves nothing forever (and
// `lithops clean` removes what is left).
//
// An ObjectScope (the Manager's) can take ownership instead: objects created on a thread while
// one of its ObjectScope::Enter guards lives belong to the scope's registry in Redis, not to
// their handles. They are reference-counted there: every live handle group in any process (the
// creator's, each attach) and every serialised copy (a handle passed to a Process, stored in a
// container, put on a Queue) holds one reference; the object's keys are deleted when the count
// reaches zero, and deleting a container releases the references its items hold (docs/manager.md,
// MG-17). destroy_all() deletes everything the registry still holds.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace lithops::multiprocessing::detail {

struct ObjectState;

class ObjectRef {
 public:
  // A new object of `kind` (e.g. "queue") in this session; this process owns it.
  static ObjectRef create(std::string_view kind);
  // Re-attaches to an object from its handle; mp::TypeError if the handle is of another kind.
  static ObjectRef attach(const boost::json::value& handle, std::string_view expected_kind);

  const std::string& kind() const;
  // Base key of the object. Keys of one object share a Redis Cluster hash tag, so scripts that
  // touch several of them stay on one node.
  const std::string& key() const;
  // The key `<base>:<suffix>` (declared with own_key() by the creator so it is deleted).
  std::string key(std::string_view suffix) const;
  // Declares a key of the object, deleted when the owner lets go.
  void own_key(std::string key);

  // Immutable properties carried in the handle (maxsize, parties, typecode, ...).
  const boost::json::object& properties() const;
  boost::json::object& properties();

  // The handle's JSON form: {"$lithops": kind, "key": ..., "props": {...}}.
  boost::json::value to_json() const;

  bool owner() const;
  // For writes that are one native command which keeps a key's TTL (INCRBY, HINCRBY): true at
  // most once per `interval` for this handle and its copies (the first call on a handle
  // included), and then the caller pipelines the EXPIRE with its write. Lets the hot path be a
  // single command while a key written without pause still never expires.
  bool expiry_refresh_due(std::chrono::seconds interval) const;
  // Deletes the object's keys now (also what the owner's last handle does).
  void destroy();

 private:
  std::shared_ptr<ObjectState> state_;
};

struct ScopeState;

// The registry of a Manager: objects created on a thread while an Enter guard of the scope lives
// on that thread are registered in Redis under `registry` (see above). Thread-safe. Copies share
// one scope.
class ObjectScope {
 public:
  ObjectScope();

  // The registry's base key (the manager's); objects can be created only once it is bound.
  void bind(std::string registry);
  std::string registry() const;

  // RAII: makes `scope` the owner of objects this thread creates until the guard ends; the guard's
  // end registers them (one round trip). Guards nest (the innermost wins). Handles serialised
  // while a guard lives (a composite embedding its parts) do not count as references.
  class Enter {
   public:
    explicit Enter(const ObjectScope& scope);
    ~Enter();
    Enter(const Enter&) = delete;
    Enter& operator=(const Enter&) = delete;

   private:
    friend class ObjectRef;
    Enter* previous_;
    ScopeState* scope_;
    std::vector<std::weak_ptr<ObjectState>> pending_;  // created under this guard
  };

  // Deletes the keys of every object the registry holds (one round trip) and the registry.
  // Handles still held stay valid as values but name deleted keys. Idempotent; store errors are
  // reported on stderr (the keys then expire).
  void destroy_all();
  // Number of live objects in the registry (one round trip).
  std::size_t size() const;
  // Every key of the live objects, for diagnostics/tests (one round trip).
  std::vector<std::string> keys() const;

 private:
  std::shared_ptr<ScopeState> state_;
};

}  // namespace lithops::multiprocessing::detail
