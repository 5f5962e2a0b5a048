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
// one of its ObjectScope::Enter guards lives belong to the scope, not to their handles, and are
// deleted when the scope is destroyed (destroy_all()), whatever handles remain.
#pragma once

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
  // Deletes the object's keys now (also what the owner's last handle does).
  void destroy();

 private:
  std::shared_ptr<ObjectState> state_;
};

struct ScopeState;

// Owner of every object created (by ObjectRef::create) on a thread while an Enter guard of the
// scope lives on that thread. Thread-safe. Copies share one scope.
class ObjectScope {
 public:
  ObjectScope();

  // RAII: makes `scope` the owner of objects this thread creates until the guard ends. Guards
  // nest (the innermost wins).
  class Enter {
   public:
    explicit Enter(const ObjectScope& scope);
    ~Enter();
    Enter(const Enter&) = delete;
    Enter& operator=(const Enter&) = delete;

   private:
    ScopeState* previous_;
  };

  // Deletes the keys of every object the scope owns (one DEL round trip) and forgets them.
  // Handles still held stay valid as values but name deleted keys. Idempotent; store errors are
  // reported on stderr (the keys then expire).
  void destroy_all();
  // Number of live objects owned.
  std::size_t size() const;
  // Every key the owned objects declared (base keys and own_key() keys), for diagnostics/tests.
  std::vector<std::string> keys() const;

 private:
  std::shared_ptr<ScopeState> state_;
};

}  // namespace lithops::multiprocessing::detail
