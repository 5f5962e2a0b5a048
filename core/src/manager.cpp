// mp::Manager (an ObjectScope plus the shared-memory names it must unlink) and NamespaceProxy's
// store calls (one HASH at the object's base key).
#include "lithops/multiprocessing/manager.hpp"

#include <algorithm>
#include <cstdio>

#include "proxy_internal.hpp"

namespace lithops::multiprocessing {

namespace {

// KEYS: registry. ARGV: ttl, owner token, authkey. Takes the address (Python: bind).
const detail::Script kListen{R"lua(
if redis.call('HSETNX', KEYS[1], 'owner', ARGV[2]) == 0 then
  return redis.error_reply('LITHOPS address in use')
end
redis.call('HSET', KEYS[1], 'auth', redis.sha1hex('lithops-manager:' .. ARGV[3]))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
)lua"};

// KEYS: registry. ARGV: authkey. 0: nobody there; -1: wrong authkey; 1: connected.
const detail::Script kConnect{R"lua(
local auth = redis.call('HGET', KEYS[1], 'auth')
if not auth then return 0 end
if auth ~= redis.sha1hex('lithops-manager:' .. ARGV[1]) then return -1 end
return 1
)lua"};

// KEYS: registry. ARGV: owner token. Releases the address if this manager holds it.
const detail::Script kUnlisten{R"lua(
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
)lua"};

// "host:port" or "unix:/path" of the session's Redis (with "/db" when not 0).
std::string redis_endpoint() {
  const auto& cfg = detail::Runtime::get().config();
  std::string out = "unknown";
  if (const auto* r = cfg.if_contains("redis"); r && r->is_object()) {
    const auto& o = r->as_object();
    if (const auto* u = o.if_contains("unix_socket");
        u && u->is_string() && !u->as_string().empty()) {
      out = "unix:" + std::string(u->as_string());
    } else {
      std::string host = "localhost";
      if (const auto* h = o.if_contains("host"); h && h->is_string()) host = h->as_string();
      std::string port = "6379";
      if (const auto* p = o.if_contains("port"); p && p->is_number()) {
        port = std::to_string(p->to_number<long long>());
      }
      out = host + ":" + port;
    }
    if (const auto* d = o.if_contains("db");
        d && d->is_number() && d->to_number<long long>() != 0) {
      out += "/" + std::to_string(d->to_number<long long>());
    }
  }
  return out;
}

}  // namespace

struct Manager::State {
  enum class Phase { kInitial, kRunning, kShutDown };
  mutable std::mutex mutex;
  Phase phase = Phase::kInitial;
  ManagerOptions options;
  std::string registry;  // base key
  std::string token;     // owner token of the address; empty for a client
  bool client = false;
  std::vector<std::pair<std::string, bool>> shm;  // name, is a ShareableList
};

Manager::Manager() : Manager(ManagerOptions{}) {}

Manager::Manager(ManagerOptions options) : Manager(deferred, std::move(options)) { start(); }

Manager::Manager(Deferred, ManagerOptions options) : state_(std::make_unique<State>()) {
  if (options.address.find_first_of(std::string_view("{}\n\0", 4)) != std::string::npos) {
    throw ValueError("a Manager address name may not contain '{', '}', newline or NUL");
  }
  state_->options = std::move(options);
  // Connect now, as Python's Manager() starts its server: configuration errors surface here.
  detail::Runtime::get();
}

Manager::Manager(Connect, const std::string& address, const std::string& authkey)
    : state_(std::make_unique<State>()) {
  const auto hash = address.find('#');
  if (hash == std::string::npos || hash + 1 == address.size()) {
    throw ValueError("not a Manager address: '" + address +
                     "' (expected \"<redis endpoint>#<registry key>\", from Manager::address())");
  }
  const std::string endpoint = address.substr(0, hash), registry = address.substr(hash + 1);
  if (endpoint != redis_endpoint()) {
    throw ConfigError("the Manager at " + address + " uses the Redis at " + endpoint +
                      ", this session uses " + redis_endpoint() +
                      ": configure the `redis` section to reach the same server");
  }
  const auto r = detail::proxy_store().eval(kConnect, {registry}, {authkey});
  if (r.integer == 0) {
    throw OSError("no Manager runs at " + address +
                  " (ConnectionRefusedError: it was shut down or never started)");
  }
  if (r.integer < 0) throw AuthenticationError("digest received was wrong (authkey mismatch)");
  state_->registry = registry;
  state_->client = true;
  state_->phase = State::Phase::kRunning;
  scope_.bind(registry);
}

Manager Manager::connect(const std::string& address, const std::string& authkey) {
  return Manager(Connect{}, address, authkey);
}

Manager::~Manager() { shutdown(); }

void Manager::start() {
  std::lock_guard lock(state_->mutex);
  if (state_->phase == State::Phase::kRunning) return;
  if (state_->phase == State::Phase::kShutDown) throw ProcessError("the Manager has shut down");
  auto& rt = detail::Runtime::get();
  const auto& name = state_->options.address;
  const std::string registry = name.empty() ? rt.prefix() + "{manager:" + rt.new_id() + "}"
                                            : "lithops:manager:{" + name + "}";
  const std::string token = rt.prefix() + rt.new_id();
  auto& s = detail::proxy_store();
  try {
    s.eval(kListen, {registry}, {s.expiry_text(), token, state_->options.authkey});
  } catch (const OSError& e) {
    if (std::string_view(e.what()).find("LITHOPS address in use") == std::string_view::npos) throw;
    throw ProcessError("address in use: a Manager already runs at " + redis_endpoint() + "#" +
                       registry + " (shut it down first, or choose another address)");
  }
  state_->registry = registry;
  state_->token = token;
  state_->phase = State::Phase::kRunning;
  scope_.bind(registry);
}

void Manager::check_initial() const {
  std::lock_guard lock(state_->mutex);
  if (state_->phase == State::Phase::kRunning) {
    throw ProcessError("the Manager is already started: an initializer runs only at start");
  }
  if (state_->phase == State::Phase::kShutDown) throw ProcessError("the Manager has shut down");
}

void Manager::run_initializer(Process& p) {
  p.start();
  if (!p.join(state_->options.start_timeout)) {
    p.terminate();
    p.join(std::chrono::seconds(10));
    shutdown();
    throw TimeoutError("the Manager's initializer did not finish within " +
                       std::to_string(state_->options.start_timeout.count()) + " s");
  }
  if (auto code = p.exitcode(); code != 0) {
    shutdown();
    throw ProcessError("the Manager's initializer failed (exit code " +
                       std::to_string(code.value_or(-1)) + ")");
  }
}

bool Manager::running() const {
  std::lock_guard lock(state_->mutex);
  return state_->phase == State::Phase::kRunning;
}

void Manager::check_running() const {
  std::lock_guard lock(state_->mutex);
  if (state_->phase == State::Phase::kInitial) {
    throw ProcessError("the Manager is not started: call start() first");
  }
  if (state_->phase == State::Phase::kShutDown) throw ProcessError("the Manager has shut down");
}

std::string Manager::address() const {
  std::lock_guard lock(state_->mutex);
  if (state_->registry.empty()) throw ProcessError("the Manager is not started: no address yet");
  return redis_endpoint() + "#" + state_->registry;
}

void Manager::shutdown() {
  std::vector<std::pair<std::string, bool>> shm;
  std::string registry, token;
  bool client = false;
  {
    std::lock_guard lock(state_->mutex);
    const bool was_running = state_->phase == State::Phase::kRunning;
    state_->phase = State::Phase::kShutDown;
    if (!was_running) return;
    shm.swap(state_->shm);
    registry = state_->registry;
    token = state_->token;
    client = state_->client;
  }
  if (client) return;  // a connected client only disconnects
  scope_.destroy_all();
  if (detail::Runtime* rt = detail::Runtime::current()) {
    try {
      rt->store().eval(kUnlisten, {registry}, {token});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: could not release the Manager address %s: %s\n",
                   registry.c_str(), e.what());
    }
  }
  for (const auto& [name, is_list] : shm) {
    try {
      if (is_list) {
        detail::ShmListHandle::attach(name).unlink();
      } else {
        ::lithops::multiprocessing::SharedMemory(name).unlink();
      }
    } catch (const FileNotFoundError&) {
      // Unlinked by its user already.
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: could not unlink shared memory %s (it will expire): %s\n",
                   name.c_str(), e.what());
    }
  }
}

::lithops::multiprocessing::SharedMemory Manager::SharedMemory(std::int64_t size) {
  check_running();
  ::lithops::multiprocessing::SharedMemory shm(size);
  adopt_shm(shm.name(), false);
  return shm;
}

void Manager::adopt_shm(const std::string& name, bool list) {
  std::lock_guard lock(state_->mutex);
  state_->shm.emplace_back(name, list);
}

std::size_t Manager::number_of_objects() const { return scope_.size(); }
std::vector<std::string> Manager::keys() const { return scope_.keys(); }

void Manager::set_registry_field(const std::string& field, const std::string& value) {
  auto& s = detail::proxy_store();
  const std::vector<sdk::Command> cmds{{"HSET", scope_.registry(), field, value},
                                       {"EXPIRE", scope_.registry(), s.expiry_text()}};
  detail::check_replies(s.pipeline(cmds));
}

std::string Manager::registry_field(const std::string& field, const char* what) {
  auto r = detail::proxy_store().run({"HGET", scope_.registry(), field});
  if (r.is_nil()) {
    throw AttributeError("no " + std::string(what) + " is registered as '" +
                         field.substr(field.find(':') + 1) + "' with the Manager at " + address());
  }
  return std::move(r.str);
}

std::vector<std::string> Manager::registered_type(const std::string& type_id, const char* cpp) {
  check_running();
  const auto v = boost::json::parse(registry_field("type:" + type_id, "type"));
  if (v.at("cpp").as_string() != cpp) {
    throw TypeError("'" + type_id + "' is registered with another type (" +
                    std::string(v.at("cpp").as_string()) + ")");
  }
  std::vector<std::string> out;
  for (const auto& n : v.at("exposed").as_array()) out.emplace_back(n.as_string());
  return out;
}

SetProxy<boost::json::value> Manager::set(const boost::json::value& iterable) {
  std::vector<boost::json::value> items;
  if (const auto* a = iterable.if_array()) {
    items.assign(a->begin(), a->end());
  } else if (const auto* o = iterable.if_object()) {
    for (const auto& kv : *o) items.emplace_back(kv.key());
  } else if (const auto* s = iterable.if_string()) {
    for (char c : *s) items.emplace_back(std::string(1, c));
  } else {
    const char* kind = iterable.is_bool()     ? "bool"
                       : iterable.is_double() ? "float"
                       : iterable.is_null()   ? "NoneType"
                                              : "int";
    throw TypeError(std::string("'") + kind + "' object is not iterable (manager.set() takes " +
                    "a JSON array, object or string)");
  }
  for (const auto& i : items) detail::check_hashable(i);
  auto out = set<boost::json::value>();
  out.update(items);
  return out;
}

namespace detail {

ObjectRef namespace_create() { return ObjectRef::create("namespace"); }

std::optional<std::string> namespace_get(const ObjectRef& ref, std::string_view name) {
  auto r = proxy_store().run({"HGET", ref.key(), name});
  if (r.is_nil()) return std::nullopt;
  return std::move(r.str);
}

void namespace_set(const ObjectRef& ref, std::string_view name, std::string_view value) {
  auto& s = proxy_store();
  const std::vector<sdk::Command> cmds{{"HSET", ref.key(), std::string(name), std::string(value)},
                                       {"EXPIRE", ref.key(), s.expiry_text()}};
  check_replies(s.pipeline(cmds));
}

bool namespace_del(const ObjectRef& ref, std::string_view name) {
  return proxy_store().run({"HDEL", ref.key(), name}).integer == 1;
}

std::vector<std::pair<std::string, std::string>> namespace_items(const ObjectRef& ref) {
  auto r = proxy_store().run({"HGETALL", ref.key()});
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    out.emplace_back(std::move(r.elements[i].str), std::move(r.elements[i + 1].str));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace detail
}  // namespace lithops::multiprocessing
