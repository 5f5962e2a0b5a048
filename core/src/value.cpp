// Value<T> and Array<T> on Redis (the typed halves are templates in value.hpp / array.hpp).
//
// Layout:
//   value  <key>  string: the value as text (so INCRBY / INCRBYFLOAT apply to it); for a
//                 described struct a hash, one field per member (HINCRBY per field)
//   array  <key>  list of the elements as text; its length is fixed at creation
// Handles carry the element type, the size (arrays) and the lock's handle (or null).
//
// Every write sends the key's EXPIRE in the same round trip, except increments: INCRBY keeps the
// TTL, so they send it once per refresh interval of the handle (increment() below), which makes
// the atomic increment one native command, the floor for Redis.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>

#include <boost/json.hpp>

#include "lithops/multiprocessing/array.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/value.hpp"
#include "lithops/multiprocessing/value_struct.hpp"
#include "runtime.hpp"

namespace lithops::multiprocessing::detail {
namespace json = boost::json;

namespace {

// KEYS: array. ARGV: expiry, start, values... Writes the run of elements; no other command runs
// in between (bounds are checked by the caller, so no LSET fails half-way).
const Script kSetRange{R"lua(
local start = tonumber(ARGV[2])
for i = 3, #ARGV do redis.call('LSET', KEYS[1], start + i - 3, ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
)lua"};

[[noreturn]] void throw_gone(const ObjectRef& ref) {
  throw ValueError("the shared " + ref.kind() + " " + ref.key() +
                   " no longer exists (deleted by its owner, or expired after "
                   "REDIS_EXPIRY_TIME without writes)");
}

ObjectRef create_typed(std::string_view kind, std::string_view type, json::value lock) {
  auto ref = ObjectRef::create(kind);
  ref.properties()["type"] = type;
  ref.properties()["lock"] = std::move(lock);
  return ref;
}

// A tenth of REDIS_EXPIRY_TIME (at least a second): how often a handle re-arms a key's expiry
// from increments alone.
std::chrono::seconds refresh_interval() {
  return std::chrono::seconds(std::max<long long>(1, Runtime::get().store().expiry() / 10));
}

// Runs an INCRBY-like command `cmd` on `key`, pipelining the key's EXPIRE when the handle's
// refresh is due. `fresh(reply)` says whether the result equals the delta: then the key may have
// been created by this very command (it was deleted or had expired) and so has no TTL yet, and
// the EXPIRE follows in a second round trip (rare: a counter passing through zero).
sdk::Reply increment(const ObjectRef& ref, sdk::Command cmd,
                     const std::function<bool(const sdk::Reply&)>& fresh) {
  auto& store = Runtime::get().store();
  const std::string& key = ref.key();
  sdk::Reply r;
  if (ref.expiry_refresh_due(refresh_interval())) {
    std::vector<sdk::Command> cmds{std::move(cmd), {"EXPIRE", key, store.expiry_text()}};
    r = std::move(store.pipeline(cmds)[0]);
  } else {
    // pipeline() of one command: one round trip, and an error reply comes back, not thrown.
    r = std::move(store.pipeline(std::span<const sdk::Command>(&cmd, 1))[0]);
    if (!r.is_error() && fresh(r)) store.run({"EXPIRE", key, store.expiry_text()});
  }
  if (r.is_error()) throw ValueError("cannot add to " + key + ": " + r.str);
  return r;
}

std::string long_double_text(long double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.21Lg", d);
  return buf;
}

}  // namespace

void throw_no_lock() {
  throw ValueError("this shared object was created with mp::no_lock (lock=False): no get_lock()");
}

ObjectRef attach_typed(const json::value& handle, std::string_view kind, std::string_view type) {
  auto ref = ObjectRef::attach(handle, kind);
  const auto* t = ref.properties().if_contains("type");
  if (!t || !t->is_string() || t->as_string() != type) {
    throw TypeError("a shared " + std::string(kind) + " of " +
                    (t && t->is_string() ? std::string(t->as_string()) : std::string("?")) +
                    " cannot be attached as one of " + std::string(type));
  }
  return ref;
}

std::optional<RLock> lock_of(const ObjectRef& ref) {
  const auto* l = ref.properties().if_contains("lock");
  if (!l || l->is_null()) return std::nullopt;
  return RLock(ObjectRef::attach(*l, "rlock"));
}

// --- Value ---------------------------------------------------------------------------------

ObjectRef value_create(std::string_view type, const std::string& initial, json::value lock) {
  auto ref = create_typed("value", type, std::move(lock));
  auto& store = Runtime::get().store();
  store.run({"SET", ref.key(), initial, "EX", store.expiry_text()});
  static_cast<void>(ref.expiry_refresh_due(refresh_interval()));  // just written with its expiry
  return ref;
}

std::string value_get(const ObjectRef& ref) {
  auto r = Runtime::get().store().run({"GET", ref.key()});
  if (r.type != sdk::Reply::Type::kString) throw_gone(ref);
  return std::move(r.str);
}

void value_set(const ObjectRef& ref, std::string_view v) {
  auto& store = Runtime::get().store();
  store.run({"SET", ref.key(), v, "EX", store.expiry_text()});
}

std::string value_exchange(const ObjectRef& ref, std::string_view v) {
  auto& store = Runtime::get().store();
  auto r = store.run({"SET", ref.key(), v, "EX", store.expiry_text(), "GET"});
  if (r.type != sdk::Reply::Type::kString) throw_gone(ref);
  return std::move(r.str);
}

long long value_add_int(const ObjectRef& ref, long long delta) {
  return increment(ref, {"INCRBY", ref.key(), std::to_string(delta)},
                   [&](const sdk::Reply& r) { return r.integer == delta; })
      .integer;
}

std::string value_add_float(const ObjectRef& ref, long double delta) {
  return increment(
             ref, {"INCRBYFLOAT", ref.key(), long_double_text(delta)},
             [&](const sdk::Reply& r) { return std::strtold(r.str.c_str(), nullptr) == delta; })
      .str;
}

// --- Value of a described struct -------------------------------------------------------------

void throw_not_a_member(std::string_view type) {
  throw ValueError("the member pointer names no member described for " + std::string(type) +
                   "; list it in the struct's BOOST_DESCRIBE_STRUCT");
}

namespace {
sdk::Command hset_command(const ObjectRef& ref, std::span<const std::string_view> names,
                          std::span<const std::string> values) {
  sdk::Command cmd{"HSET", ref.key()};
  for (std::size_t i = 0; i < names.size(); ++i) {
    cmd.emplace_back(names[i]);
    cmd.push_back(values[i]);
  }
  return cmd;
}
}  // namespace

ObjectRef struct_create(std::string_view type, std::span<const std::string_view> names,
                        std::span<const std::string> values, json::value lock) {
  auto ref = create_typed("value", type, std::move(lock));
  struct_set(ref, names, values);
  static_cast<void>(ref.expiry_refresh_due(refresh_interval()));  // just written with its expiry
  return ref;
}

std::vector<std::string> struct_get(const ObjectRef& ref, std::span<const std::string_view> names) {
  std::vector<std::string_view> args{"HMGET", ref.key()};
  args.insert(args.end(), names.begin(), names.end());
  auto r = Runtime::get().store().run(args);
  std::vector<std::string> out;
  out.reserve(names.size());
  for (auto& e : r.elements) {
    if (e.type != sdk::Reply::Type::kString) throw_gone(ref);
    out.push_back(std::move(e.str));
  }
  if (out.size() != names.size()) throw_gone(ref);
  return out;
}

void struct_set(const ObjectRef& ref, std::span<const std::string_view> names,
                std::span<const std::string> values) {
  auto& store = Runtime::get().store();
  std::vector<sdk::Command> cmds{hset_command(ref, names, values),
                                 {"EXPIRE", ref.key(), store.expiry_text()}};
  for (const auto& r : store.pipeline(cmds)) {
    if (r.is_error())
      throw OSError("could not write the shared struct " + ref.key() + ": " + r.str);
  }
}

std::string struct_get_field(const ObjectRef& ref, std::string_view name) {
  auto r = Runtime::get().store().run({"HGET", ref.key(), name});
  if (r.type != sdk::Reply::Type::kString) throw_gone(ref);
  return std::move(r.str);
}

void struct_set_field(const ObjectRef& ref, std::string_view name, std::string_view v) {
  const std::string value(v);
  struct_set(ref, std::span<const std::string_view>(&name, 1),
             std::span<const std::string>(&value, 1));
}

long long struct_add_int(const ObjectRef& ref, std::string_view name, long long delta) {
  return increment(ref, {"HINCRBY", ref.key(), std::string(name), std::to_string(delta)},
                   [&](const sdk::Reply& r) { return r.integer == delta; })
      .integer;
}

std::string struct_add_float(const ObjectRef& ref, std::string_view name, long double delta) {
  return increment(
             ref, {"HINCRBYFLOAT", ref.key(), std::string(name), long_double_text(delta)},
             [&](const sdk::Reply& r) { return std::strtold(r.str.c_str(), nullptr) == delta; })
      .str;
}

// --- Array ---------------------------------------------------------------------------------

ObjectRef array_create(std::string_view type, std::span<const std::string> values,
                       json::value lock) {
  auto ref = create_typed("array", type, std::move(lock));
  ref.properties()["size"] = static_cast<std::uint64_t>(values.size());
  if (values.empty()) return ref;  // Redis has no empty lists; reads of size 0 need no key
  auto& store = Runtime::get().store();
  sdk::Command push{"RPUSH", ref.key()};
  push.insert(push.end(), values.begin(), values.end());
  std::vector<sdk::Command> cmds{std::move(push), {"EXPIRE", ref.key(), store.expiry_text()}};
  for (const auto& r : store.pipeline(cmds)) {
    if (r.is_error()) throw OSError("could not create a shared array: " + r.str);
  }
  return ref;
}

std::size_t array_size(const ObjectRef& ref) {
  const auto* v = ref.properties().if_contains("size");
  if (!v) return 0;
  if (v->is_uint64()) return static_cast<std::size_t>(v->as_uint64());
  if (v->is_int64()) return static_cast<std::size_t>(v->as_int64());
  return 0;
}

namespace {
void check_index(const ObjectRef& ref, std::size_t i) {
  if (i >= array_size(ref)) {
    throw ValueError("array index " + std::to_string(i) + " out of range (size " +
                     std::to_string(array_size(ref)) + ")");
  }
}
}  // namespace

std::string array_get(const ObjectRef& ref, std::size_t i) {
  check_index(ref, i);
  auto r = Runtime::get().store().run({"LINDEX", ref.key(), std::to_string(i)});
  if (r.type != sdk::Reply::Type::kString) throw_gone(ref);
  return std::move(r.str);
}

void array_set(const ObjectRef& ref, std::size_t i, std::string_view v) {
  check_index(ref, i);
  const std::string s(v);
  array_set_range(ref, i, std::span<const std::string>(&s, 1));
}

std::vector<std::string> array_range(const ObjectRef& ref, std::size_t start, std::size_t stop) {
  stop = std::min(stop, array_size(ref));
  if (start >= stop) return {};
  auto r = Runtime::get().store().run(
      {"LRANGE", ref.key(), std::to_string(start), std::to_string(stop - 1)});
  if (r.elements.size() != stop - start) throw_gone(ref);
  std::vector<std::string> out;
  out.reserve(r.elements.size());
  for (auto& e : r.elements) out.push_back(std::move(e.str));
  return out;
}

void array_set_range(const ObjectRef& ref, std::size_t start, std::span<const std::string> values) {
  if (values.empty()) return;
  if (start + values.size() > array_size(ref)) {
    throw ValueError("cannot write " + std::to_string(values.size()) + " elements at " +
                     std::to_string(start) + " of an array of " + std::to_string(array_size(ref)) +
                     " (its size is fixed)");
  }
  auto& store = Runtime::get().store();
  const std::string ttl = store.expiry_text(), first = std::to_string(start);
  std::vector<std::string_view> args{ttl, first};
  for (const auto& v : values) args.push_back(v);
  const std::string_view key = ref.key();
  try {
    store.eval(kSetRange, std::span<const std::string_view>(&key, 1), args);
  } catch (const OSError& e) {
    if (std::string_view(e.what()).find("no such key") != std::string_view::npos) throw_gone(ref);
    throw;
  }
}

}  // namespace lithops::multiprocessing::detail
