#include "lithops/multiprocessing/shared_object.hpp"

#include <cstdio>

#include <boost/json.hpp>

#include "lithops/multiprocessing/errors.hpp"
#include "runtime.hpp"

namespace lithops::multiprocessing::detail {
namespace json = boost::json;

struct ObjectState {
  std::string kind;
  std::string key;
  json::object props;
  bool owner = false;
  std::vector<std::string> keys;  // keys to delete when the owner lets go
  std::mutex mutex;
  bool destroyed = false;

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

  ~ObjectState() {
    if (owner) destroy();
  }
};

struct ScopeState {
  mutable std::mutex mutex;
  std::vector<std::shared_ptr<ObjectState>> objects;
};

namespace {
// The scope that owns what this thread creates now (ObjectScope::Enter), if any.
thread_local ScopeState* current_scope = nullptr;
}  // namespace

ObjectRef ObjectRef::create(std::string_view kind) {
  auto& rt = Runtime::get();
  ObjectRef ref;
  ref.state_ = std::make_shared<ObjectState>();
  ref.state_->kind = kind;
  ref.state_->key = rt.prefix() + "{" + std::string(kind) + ":" + rt.new_id() + "}";
  if (current_scope) {
    // The scope deletes it; the handles' lifetime does not matter.
    std::lock_guard lock(current_scope->mutex);
    current_scope->objects.push_back(ref.state_);
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
  return json::object{{"$lithops", state_->kind}, {"key", state_->key}, {"props", state_->props}};
}
bool ObjectRef::owner() const { return state_->owner; }
void ObjectRef::destroy() { state_->destroy(); }

ObjectScope::ObjectScope() : state_(std::make_shared<ScopeState>()) {}

ObjectScope::Enter::Enter(const ObjectScope& scope) : previous_(current_scope) {
  current_scope = scope.state_.get();
}
ObjectScope::Enter::~Enter() { current_scope = previous_; }

void ObjectScope::destroy_all() {
  std::vector<std::shared_ptr<ObjectState>> doomed;
  {
    std::lock_guard lock(state_->mutex);
    doomed.swap(state_->objects);
  }
  if (doomed.empty()) return;
  std::vector<std::string> keys;
  for (auto& o : doomed) {
    std::lock_guard lock(o->mutex);
    if (o->destroyed) continue;
    o->destroyed = true;
    keys.push_back(o->key);
    for (auto& k : o->keys) keys.push_back(std::move(k));
    o->keys.clear();
  }
  Runtime* rt = Runtime::current();
  if (!rt || keys.empty()) return;
  // One DEL for all of them (Manager shutdown is one round trip whatever it created).
  std::vector<std::string_view> args{"DEL"};
  for (const auto& k : keys) args.push_back(k);
  try {
    rt->store().run(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lithops: could not delete %zu keys of a scope (they will expire): %s\n",
                 keys.size(), e.what());
  }
}

std::size_t ObjectScope::size() const {
  std::lock_guard lock(state_->mutex);
  return state_->objects.size();
}

std::vector<std::string> ObjectScope::keys() const {
  std::lock_guard lock(state_->mutex);
  std::vector<std::string> out;
  for (const auto& o : state_->objects) {
    std::lock_guard inner(o->mutex);
    out.push_back(o->key);
    out.insert(out.end(), o->keys.begin(), o->keys.end());
  }
  return out;
}

}  // namespace lithops::multiprocessing::detail
