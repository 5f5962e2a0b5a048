// DictProxy on Redis. Layout (all under the object's base key, one hash tag):
//   <base>      HASH  encoded key -> encoded value
//   <base>:o    ZSET  encoded key, scored by insertion number (Python's insertion order)
//   <base>:n    STRING the insertion counter
// Writers are Lua scripts that keep the three consistent and refresh all three TTLs; reads of
// one key are a plain HGET.
#include "lithops/multiprocessing/dict_proxy.hpp"

#include "proxy_internal.hpp"

namespace lithops::multiprocessing::detail {
namespace {

// touch(): every write refreshes every key of the dict, so they expire together.
// add_order(k): a key new to the hash goes last in the order.
constexpr std::string_view kPrelude = R"lua(
local h, o, n, ttl = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local function touch()
  redis.call('EXPIRE', h, ttl)
  redis.call('EXPIRE', o, ttl)
  redis.call('EXPIRE', n, ttl)
end
local function add_order(k)
  redis.call('ZADD', o, redis.call('INCR', n), k)
end
)lua";

// ARGV: ttl, k1, v1, k2, v2, ...
const std::string kSetSource = std::string(kPrelude) + R"lua(
for i = 2, #ARGV, 2 do
  if redis.call('HSET', h, ARGV[i], ARGV[i + 1]) == 1 then add_order(ARGV[i]) end
end
touch()
return 1
)lua";
const Script kSet{kSetSource};

// ARGV: ttl, key. Returns the removed value or nil.
const std::string kPopSource = std::string(kPrelude) + R"lua(
local v = redis.call('HGET', h, ARGV[2])
if not v then return false end
redis.call('HDEL', h, ARGV[2])
redis.call('ZREM', o, ARGV[2])
touch()
return v
)lua";
const Script kPop{kPopSource};

// ARGV: ttl. Returns {key, value} of the last inserted pair, or nil.
const std::string kPopItemSource = std::string(kPrelude) + R"lua(
local last = redis.call('ZRANGE', o, -1, -1)
if #last == 0 then return false end
local k = last[1]
local v = redis.call('HGET', h, k)
redis.call('HDEL', h, k)
redis.call('ZREM', o, k)
touch()
return {k, v}
)lua";
const Script kPopItem{kPopItemSource};

// ARGV: ttl, key, value. Returns the value now stored.
const std::string kSetDefaultSource = std::string(kPrelude) + R"lua(
if redis.call('HSETNX', h, ARGV[2], ARGV[3]) == 1 then add_order(ARGV[2]) end
touch()
return redis.call('HGET', h, ARGV[2])
)lua";
const Script kSetDefault{kSetDefaultSource};

// ARGV: ttl, key, by, 'i' | 'f'. Returns the new value (integer, or text for floats).
const std::string kIncrSource = std::string(kPrelude) + R"lua(
local fresh = redis.call('HEXISTS', h, ARGV[2]) == 0
local r
if ARGV[4] == 'i' then
  r = redis.call('HINCRBY', h, ARGV[2], ARGV[3])
else
  r = redis.call('HINCRBYFLOAT', h, ARGV[2], ARGV[3])
end
if fresh then add_order(ARGV[2]) end
touch()
return r
)lua";
const Script kIncr{kIncrSource};

// Returns {k1, v1, k2, v2, ...} in insertion order, from one consistent state.
const std::string kItemsSource = std::string(kPrelude) + R"lua(
local ks = redis.call('ZRANGE', o, 0, -1)
local out = {}
for i, k in ipairs(ks) do
  out[2 * i - 1] = k
  out[2 * i] = redis.call('HGET', h, k)
end
return out
)lua";
const Script kItems{kItemsSource};

}  // namespace

DictHandle::DictHandle() : ref_(ObjectRef::create("dict")) {
  ref_.own_key(ref_.key("o"));
  ref_.own_key(ref_.key("n"));
}

DictHandle DictHandle::attach(const boost::json::value& handle) {
  return DictHandle(ObjectRef::attach(handle, "dict"));
}

std::optional<std::string> DictHandle::get(std::string_view key) const {
  auto r = proxy_store().run({"HGET", ref_.key(), key});
  if (r.is_nil()) return std::nullopt;
  return std::move(r.str);
}

void DictHandle::set(std::string_view key, std::string_view value) {
  auto& s = proxy_store();
  const std::string o = ref_.key("o"), n = ref_.key("n"), ttl = s.expiry_text();
  s.eval(kSet, {ref_.key(), o, n}, {ttl, key, value});
}

void DictHandle::update(const std::vector<std::string>& flat) {
  auto& s = proxy_store();
  const std::string o = ref_.key("o"), n = ref_.key("n"), ttl = s.expiry_text();
  const std::vector<std::string_view> keys{ref_.key(), o, n};
  std::vector<std::string_view> args{ttl};
  args.insert(args.end(), flat.begin(), flat.end());
  s.eval(kSet, keys, args);
}

std::optional<std::string> DictHandle::pop(std::string_view key) {
  auto& s = proxy_store();
  const std::string o = ref_.key("o"), n = ref_.key("n"), ttl = s.expiry_text();
  auto r = s.eval(kPop, {ref_.key(), o, n}, {ttl, key});
  if (r.is_nil()) return std::nullopt;
  return std::move(r.str);
}

std::optional<std::pair<std::string, std::string>> DictHandle::popitem() {
  auto& s = proxy_store();
  const std::string o = ref_.key("o"), n = ref_.key("n"), ttl = s.expiry_text();
  auto r = s.eval(kPopItem, {ref_.key(), o, n}, {ttl});
  if (r.type != sdk::Reply::Type::kArray || r.elements.size() != 2) return std::nullopt;
  return std::make_pair(std::move(r.elements[0].str), std::move(r.elements[1].str));
}

std::string DictHandle::setdefault(std::string_view key, std::string_view value) {
  auto& s = proxy_store();
  const std::string o = ref_.key("o"), n = ref_.key("n"), ttl = s.expiry_text();
  return s.eval(kSetDefault, {ref_.key(), o, n}, {ttl, key, value}).str;
}

bool DictHandle::contains(std::string_view key) const {
  return proxy_store().run({"HEXISTS", ref_.key(), key}).integer == 1;
}

long long DictHandle::size() const { return proxy_store().run({"HLEN", ref_.key()}).integer; }

std::vector<std::string> DictHandle::keys() const {
  auto r = proxy_store().run({"ZRANGE", ref_.key("o"), "0", "-1"});
  std::vector<std::string> out;
  out.reserve(r.elements.size());
  for (auto& e : r.elements) out.push_back(std::move(e.str));
  return out;
}

std::vector<std::pair<std::string, std::string>> DictHandle::items() const {
  auto& s = proxy_store();
  const std::string o = ref_.key("o"), n = ref_.key("n"), ttl = s.expiry_text();
  auto r = s.eval(kItems, {ref_.key(), o, n}, {ttl});
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(r.elements.size() / 2);
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    out.emplace_back(std::move(r.elements[i].str), std::move(r.elements[i + 1].str));
  }
  return out;
}

void DictHandle::clear() { proxy_store().run({"DEL", ref_.key(), ref_.key("o"), ref_.key("n")}); }

long long DictHandle::incr_int(std::string_view key, long long by) {
  auto& s = proxy_store();
  const std::string o = ref_.key("o"), n = ref_.key("n"), ttl = s.expiry_text();
  const std::string amount = std::to_string(by);
  return s.eval(kIncr, {ref_.key(), o, n}, {ttl, key, amount, "i"}).integer;
}

std::string DictHandle::incr_float(std::string_view key, long double by) {
  auto& s = proxy_store();
  const std::string o = ref_.key("o"), n = ref_.key("n"), ttl = s.expiry_text();
  const std::string amount = float_text(by);
  return s.eval(kIncr, {ref_.key(), o, n}, {ttl, key, amount, "f"}).str;
}

void throw_key_error(std::string_view encoded_key) { throw KeyError(std::string(encoded_key)); }

}  // namespace lithops::multiprocessing::detail
