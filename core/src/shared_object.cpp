#include "lithops/multiprocessing/shared_object.hpp"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <limits>

#include <boost/json.hpp>

#include "lithops/multiprocessing/errors.hpp"
#include "runtime.hpp"

namespace lithops::multiprocessing::detail {
namespace json = boost::json;

namespace {

// The registry of a manager (base key R, one hash tag):
//   R:refs  HASH  group -> number of references (live handle groups in any process + serialised
//                 copies); a group is the objects created by one Manager call (a Value and its
//                 Lock), named by the first one's base key
//   R:keys  HASH  group -> every key of its objects, '\n'-joined
// The scripts touch the objects' keys too (not declared in KEYS: a single Redis server, not a
// cluster, as the rest of the manager).

// KEYS: refs, keys. ARGV: ttl, group, count, keys. Registers a new group.
const Script kRegister{R"lua(
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
)lua"};

// KEYS: refs, keys. ARGV: ttl, group. One more reference, unless the group is gone.
const Script kAddRef{R"lua(
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
)lua"};

// KEYS: refs, keys. ARGV: group. One reference less; at zero the group's keys are deleted, and
// the references held by handles stored in them (a container's items) are released in turn.
const Script kRelease{R"lua(
local refs, index = KEYS[1], KEYS[2]
local work, freed = {ARGV[1]}, 0
while #work > 0 do
  local g = table.remove(work)
  if redis.call('HEXISTS', refs, g) == 1 and redis.call('HINCRBY', refs, g, -1) <= 0 then
    local ks = redis.call('HGET', index, g) or ''
    redis.call('HDEL', refs, g)
    redis.call('HDEL', index, g)
    freed = freed + 1
    for k in string.gmatch(ks, '[^\n]+') do
      local t = redis.call('TYPE', k).ok
      local items = {}
      if t == 'hash' then items = redis.call('HVALS', k)
      elseif t == 'list' then items = redis.call('LRANGE', k, 0, -1)
      elseif t == 'set' then items = redis.call('SMEMBERS', k) end
      for _, v in ipairs(items) do
        if string.find(v, '"grp":"', 1, true) then
          for n in string.gmatch(v, '"grp":"(.-)"') do table.insert(work, n) end
        end
      end
      redis.call('DEL', k)
    end
  end
end
return freed
)lua"};

// KEYS: refs, keys. Deletes every registered key and the registry.
const Script kDestroyAll{R"lua(
local n = 0
for _, ks in ipairs(redis.call('HVALS', KEYS[2])) do
  for k in string.gmatch(ks, '[^\n]+') do n = n + redis.call('DEL', k) end
end
redis.call('DEL', KEYS[1], KEYS[2])
return n
)lua"};

}  // namespace

struct ObjectState {
  std::string kind;
  std::string key;
  json::object props;
  bool owner = false;
  std::vector<std::string> keys;  // keys to delete when the owner lets go
  std::mutex mutex;
  bool destroyed = false;
  // steady_clock nanoseconds of this handle's last expiry refresh (expiry_refresh_due).
  std::atomic<std::int64_t> refreshed_ns{std::numeric_limits<std::int64_t>::min()};
  std::string registry;  // a manager's registry base key, or empty
  std::string group;     // the object's group in it

  void destroy() {
    std::vector<std::string> doomed;
    {
      std::lock_guard lock(mutex);
      if (destroyed) return;
      destroyed = true;
      doomed.swap(keys);
    }
    doomed.push_back(key);
    Runtime* rt = Runtime::current();
    if (!rt) return;  // the session is gone; the keys expire
    std::vector<std::string_view> args{"DEL"};
    for (const auto& k : doomed) args.push_back(k);
    try {
      rt->store().run(args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: could not delete %s (it will expire): %s\n", key.c_str(),
                   e.what());
    }
  }

  // This handle group's reference to a manager object ends.
  void release() noexcept {
    Runtime* rt = Runtime::current();
    if (!rt) return;  // the session is gone; the keys expire
    try {
      const std::string refs = registry + ":refs", index = registry + ":keys";
      rt->store().eval(kRelease, {refs, index}, {group});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: could not release %s (it is deleted at shutdown): %s\n",
                   key.c_str(), e.what());
    }
  }

  ~ObjectState() {
    if (owner) {
      destroy();
    } else if (!registry.empty()) {
      release();
    }
  }
};

struct ScopeState {
  mutable std::mutex mutex;
  std::string registry;
};

namespace {
// The guard whose scope owns what this thread creates now (ObjectScope::Enter), if any.
thread_local ObjectScope::Enter* current_scope = nullptr;

void add_ref(const std::string& registry, const std::string& group) {
  auto& store = Runtime::get().store();
  const std::string refs = registry + ":refs", index = registry + ":keys";
  store.eval(kAddRef, {refs, index}, {store.expiry_text(), group});
}
}  // namespace

ObjectRef ObjectRef::create(std::string_view kind) {
  auto& rt = Runtime::get();
  ObjectRef ref;
  ref.state_ = std::make_shared<ObjectState>();
  ref.state_->kind = kind;
  ref.state_->key = rt.prefix() + "{" + std::string(kind) + ":" + rt.new_id() + "}";
  if (current_scope) {
    // Registered (with a count of one for this handle group) when the Enter guard ends.
    {
      std::lock_guard lock(current_scope->scope_->mutex);
      ref.state_->registry = current_scope->scope_->registry;
    }
    if (ref.state_->registry.empty()) throw ProcessError("the Manager is not started");
    ref.state_->group = ref.state_->key;
    current_scope->pending_.push_back(ref.state_);
  } else {
    ref.state_->owner = true;
  }
  return ref;
}

ObjectRef ObjectRef::attach(const json::value& handle, std::string_view expected_kind) {
  const auto* o = handle.if_object();
  const json::value* kind = o ? o->if_contains("$lithops") : nullptr;
  if (!kind || !kind->is_string() || !o->contains("key")) {
    throw TypeError("expected a " + std::string(expected_kind) + " handle, got " +
                    json::serialize(handle));
  }
  if (kind->as_string() != expected_kind) {
    throw TypeError("expected a " + std::string(expected_kind) + " handle, got a " +
                    std::string(kind->as_string()));
  }
  ObjectRef ref;
  ref.state_ = std::make_shared<ObjectState>();
  ref.state_->kind = expected_kind;
  ref.state_->key = o->at("key").as_string();
  if (auto* p = o->if_contains("props"); p && p->is_object()) ref.state_->props = p->as_object();
  const json::value* mgr = o->if_contains("mgr");
  const json::value* grp = o->if_contains("grp");
  if (mgr && grp && mgr->is_string() && grp->is_string()) {
    // A manager object: this handle group holds a reference until it goes.
    add_ref(std::string(mgr->as_string()), std::string(grp->as_string()));
    ref.state_->registry = mgr->as_string();
    ref.state_->group = grp->as_string();
  }
  return ref;
}

const std::string& ObjectRef::kind() const { return state_->kind; }
const std::string& ObjectRef::key() const { return state_->key; }
std::string ObjectRef::key(std::string_view suffix) const {
  return state_->key + ":" + std::string(suffix);
}
void ObjectRef::own_key(std::string key) {
  std::lock_guard lock(state_->mutex);
  state_->keys.push_back(std::move(key));
}
const json::object& ObjectRef::properties() const { return state_->props; }
json::object& ObjectRef::properties() { return state_->props; }
json::value ObjectRef::to_json() const {
  json::object out{{"$lithops", state_->kind}, {"key", state_->key}, {"props", state_->props}};
  if (!state_->registry.empty()) {
    out["mgr"] = state_->registry;
    out["grp"] = state_->group;
    // A serialised copy is a reference of its own (it may outlive every handle: an item of a
    // container, a Process argument), except a part embedded while a manager creates a
    // composite: the composite's handles hold the part.
    if (!current_scope) add_ref(state_->registry, state_->group);
  }
  return out;
}
bool ObjectRef::owner() const { return state_->owner; }
bool ObjectRef::expiry_refresh_due(std::chrono::seconds interval) const {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  const std::int64_t step = std::chrono::nanoseconds(interval).count();
  std::int64_t last = state_->refreshed_ns.load(std::memory_order_relaxed);
  // One caller per interval wins; the others skip (a lost race only means a refresh is shared).
  while (last == std::numeric_limits<std::int64_t>::min() || now - last >= step) {
    if (state_->refreshed_ns.compare_exchange_weak(last, now, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}
void ObjectRef::destroy() { state_->destroy(); }

ObjectScope::ObjectScope() : state_(std::make_shared<ScopeState>()) {}

void ObjectScope::bind(std::string registry) {
  std::lock_guard lock(state_->mutex);
  state_->registry = std::move(registry);
}

std::string ObjectScope::registry() const {
  std::lock_guard lock(state_->mutex);
  return state_->registry;
}

ObjectScope::Enter::Enter(const ObjectScope& scope)
    : previous_(current_scope), scope_(scope.state_.get()) {
  current_scope = this;
}

ObjectScope::Enter::~Enter() {
  current_scope = previous_;
  // Register what was created: one group, counted once per handle group still alive.
  std::vector<std::shared_ptr<ObjectState>> alive;
  for (auto& w : pending_) {
    if (auto s = w.lock()) alive.push_back(std::move(s));
  }
  std::string registry;
  {
    std::lock_guard lock(scope_->mutex);
    registry = scope_->registry;
  }
  if (alive.empty()) return;
  const std::string group = alive.front()->key;
  std::string keys;
  for (auto& s : alive) {
    std::lock_guard lock(s->mutex);
    s->group = group;
    keys += s->key + "\n";
    for (const auto& k : s->keys) keys += k + "\n";
  }
  try {
    auto& store = Runtime::get().store();
    const std::string refs = registry + ":refs", index = registry + ":keys";
    const std::string count = std::to_string(alive.size());
    store.eval(kRegister, {refs, index}, {store.expiry_text(), group, count, keys});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lithops: could not register %s with its manager (it will expire): %s\n",
                 group.c_str(), e.what());
  }
}

void ObjectScope::destroy_all() {
  std::string registry;
  {
    std::lock_guard lock(state_->mutex);
    registry = state_->registry;
  }
  Runtime* rt = Runtime::current();
  if (!rt || registry.empty()) return;
  try {
    const std::string refs = registry + ":refs", index = registry + ":keys";
    rt->store().eval(kDestroyAll, {refs, index}, {});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lithops: could not delete the objects of %s (they will expire): %s\n",
                 registry.c_str(), e.what());
  }
}

std::size_t ObjectScope::size() const {
  const std::string registry = this->registry();
  if (registry.empty()) return 0;
  return static_cast<std::size_t>(Runtime::get().store().run({"HLEN", registry + ":refs"}).integer);
}

std::vector<std::string> ObjectScope::keys() const {
  const std::string registry = this->registry();
  std::vector<std::string> out;
  if (registry.empty()) return out;
  auto r = Runtime::get().store().run({"HVALS", registry + ":keys"});
  for (const auto& e : r.elements) {
    std::size_t b = 0;
    for (std::size_t i = e.str.find('\n'); i != std::string::npos; i = e.str.find('\n', b)) {
      out.push_back(e.str.substr(b, i - b));
      b = i + 1;
    }
  }
  return out;
}

}  // namespace lithops::multiprocessing::detail
