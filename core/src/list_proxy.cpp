// ListProxy on Redis: one LIST at the object's base key, items as JSON text. Positional edits
// that Redis has no single command for (insert, pop(i), reverse, repeat, sort's swap) are Lua
// scripts; the rest is one command, pipelined with the EXPIRE of a write.
#include "lithops/multiprocessing/list_proxy.hpp"

#include "proxy_internal.hpp"

namespace lithops::multiprocessing::detail {
namespace {

// Positional removal and insertion mark a slot with a value JSON text can never be (it has a
// NUL byte), then remove it / insert next to it by value.
// pyindex(i, n): Python's index normalisation; nil when out of range.
constexpr std::string_view kPrelude = R"lua(
local l, ttl = KEYS[1], ARGV[1]
local MARK = '\0lithops:mark'
local function pyindex(i, n)
  i = tonumber(i)
  if i < 0 then i = i + n end
  if i < 0 or i >= n then return nil end
  return i
end
local function push_all(items, from, to, step)
  local batch = {}
  for i = from, to, step do
    batch[#batch + 1] = items[i]
    if #batch == 1000 then redis.call('RPUSH', l, unpack(batch)); batch = {} end
  end
  if #batch > 0 then redis.call('RPUSH', l, unpack(batch)) end
end
)lua";

std::string script(std::string_view body) { return std::string(kPrelude) + std::string(body); }

// ARGV: ttl, index, item. Returns 1, or 0 when out of range.
const std::string kSetSource = script(R"lua(
local i = pyindex(ARGV[2], redis.call('LLEN', l))
if not i then return 0 end
redis.call('LSET', l, i, ARGV[3])
redis.call('EXPIRE', l, ttl)
return 1
)lua");
const Script kSet{kSetSource};

// ARGV: ttl, index, item. Python's insert: the index clamps to [0, n].
const std::string kInsertSource = script(R"lua(
local n = redis.call('LLEN', l)
local i = tonumber(ARGV[2])
if i < 0 then i = math.max(0, i + n) end
if i >= n then
  redis.call('RPUSH', l, ARGV[3])
elseif i == 0 then
  redis.call('LPUSH', l, ARGV[3])
else
  local old = redis.call('LINDEX', l, i)
  redis.call('LSET', l, i, MARK)
  redis.call('LINSERT', l, 'BEFORE', MARK, ARGV[3])
  redis.call('LSET', l, i + 1, old)
end
redis.call('EXPIRE', l, ttl)
return 1
)lua");
const Script kInsert{kInsertSource};

// ARGV: ttl, index. Returns the removed item, or nil when out of range.
const std::string kPopSource = script(R"lua(
local n = redis.call('LLEN', l)
local i = pyindex(ARGV[2], n)
if not i then return false end
local v
if i == n - 1 then
  v = redis.call('RPOP', l)
elseif i == 0 then
  v = redis.call('LPOP', l)
else
  v = redis.call('LINDEX', l, i)
  redis.call('LSET', l, i, MARK)
  redis.call('LREM', l, 1, MARK)
end
if n > 1 then redis.call('EXPIRE', l, ttl) end
return v
)lua");
const Script kPop{kPopSource};

// ARGV: ttl, item. Returns 1 if one was removed.
const std::string kRemoveSource = script(R"lua(
local r = redis.call('LREM', l, 1, ARGV[2])
if r > 0 and redis.call('EXISTS', l) == 1 then redis.call('EXPIRE', l, ttl) end
return r
)lua");
const Script kRemove{kRemoveSource};

// ARGV: ttl, start, stop (Python slice bounds, step 1).
const std::string kSliceSource = script(R"lua(
local n = redis.call('LLEN', l)
local function bound(x)
  x = tonumber(x)
  if x < 0 then x = x + n end
  if x < 0 then x = 0 end
  if x > n then x = n end
  return x
end
local s, e = bound(ARGV[2]), bound(ARGV[3])
if e <= s then return {} end
return redis.call('LRANGE', l, s, e - 1)
)lua");
const Script kSlice{kSliceSource};

// ARGV: ttl.
const std::string kReverseSource = script(R"lua(
local items = redis.call('LRANGE', l, 0, -1)
if #items < 2 then return 0 end
redis.call('DEL', l)
push_all(items, #items, 1, -1)
redis.call('EXPIRE', l, ttl)
return 1
)lua");
const Script kReverse{kReverseSource};

// ARGV: ttl, times.
const std::string kRepeatSource = script(R"lua(
local times = tonumber(ARGV[2])
if times <= 0 then redis.call('DEL', l); return 0 end
local items = redis.call('LRANGE', l, 0, -1)
for _ = 2, times do push_all(items, 1, #items, 1) end
if #items > 0 then redis.call('EXPIRE', l, ttl) end
return 1
)lua");
const Script kRepeat{kRepeatSource};

// ARGV: ttl, n_expected, expected..., next... Compare-and-swap of the whole content.
const std::string kReplaceIfSource = script(R"lua(
local ne = tonumber(ARGV[2])
local cur = redis.call('LRANGE', l, 0, -1)
if #cur ~= ne then return 0 end
for i = 1, ne do
  if cur[i] ~= ARGV[2 + i] then return 0 end
end
redis.call('DEL', l)
local items = {}
for i = 3 + ne, #ARGV do items[#items + 1] = ARGV[i] end
push_all(items, 1, #items, 1)
if #items > 0 then redis.call('EXPIRE', l, ttl) end
return 1
)lua");
const Script kReplaceIf{kReplaceIfSource};

}  // namespace

ListHandle::ListHandle() : ref_(ObjectRef::create("list")) {}

ListHandle ListHandle::attach(const boost::json::value& handle) {
  return ListHandle(ObjectRef::attach(handle, "list"));
}

void ListHandle::append(std::vector<std::string> items) {
  auto& s = proxy_store();
  std::vector<sdk::Command> cmds(2);
  cmds[0].reserve(items.size() + 2);
  cmds[0].push_back("RPUSH");
  cmds[0].push_back(ref_.key());
  for (auto& v : items) cmds[0].push_back(std::move(v));
  cmds[1] = {"EXPIRE", ref_.key(), s.expiry_text()};
  check_replies(s.pipeline(cmds));
}

std::optional<std::string> ListHandle::get(long long i) const {
  auto r = proxy_store().run({"LINDEX", ref_.key(), std::to_string(i)});
  if (r.is_nil()) return std::nullopt;
  return std::move(r.str);
}

bool ListHandle::set(long long i, std::string_view item) {
  auto& s = proxy_store();
  const std::string ttl = s.expiry_text(), idx = std::to_string(i);
  return s.eval(kSet, {ref_.key()}, {ttl, idx, item}).integer == 1;
}

void ListHandle::insert(long long i, std::string_view item) {
  auto& s = proxy_store();
  const std::string ttl = s.expiry_text(), idx = std::to_string(i);
  s.eval(kInsert, {ref_.key()}, {ttl, idx, item});
}

std::optional<std::string> ListHandle::pop(long long i) {
  auto& s = proxy_store();
  const std::string ttl = s.expiry_text(), idx = std::to_string(i);
  auto r = s.eval(kPop, {ref_.key()}, {ttl, idx});
  if (r.is_nil()) return std::nullopt;
  return std::move(r.str);
}

bool ListHandle::remove(std::string_view item) {
  auto& s = proxy_store();
  const std::string ttl = s.expiry_text();
  return s.eval(kRemove, {ref_.key()}, {ttl, item}).integer > 0;
}

std::optional<long long> ListHandle::index(std::string_view item) const {
  auto r = proxy_store().run({"LPOS", ref_.key(), item});
  if (r.is_nil()) return std::nullopt;
  return r.integer;
}

long long ListHandle::count(std::string_view item) const {
  // LPOS ... COUNT 0: every match's position, in one command.
  auto r = proxy_store().run({"LPOS", ref_.key(), item, "COUNT", "0"});
  return static_cast<long long>(r.elements.size());
}

long long ListHandle::size() const { return proxy_store().run({"LLEN", ref_.key()}).integer; }

std::vector<std::string> ListHandle::slice(long long start, long long stop) const {
  auto& s = proxy_store();
  const std::string ttl = s.expiry_text(), a = std::to_string(start), b = std::to_string(stop);
  auto r = s.eval(kSlice, {ref_.key()}, {ttl, a, b});
  std::vector<std::string> out;
  out.reserve(r.elements.size());
  for (auto& e : r.elements) out.push_back(std::move(e.str));
  return out;
}

std::vector<std::string> ListHandle::all() const {
  auto r = proxy_store().run({"LRANGE", ref_.key(), "0", "-1"});
  std::vector<std::string> out;
  out.reserve(r.elements.size());
  for (auto& e : r.elements) out.push_back(std::move(e.str));
  return out;
}

void ListHandle::reverse() {
  auto& s = proxy_store();
  const std::string ttl = s.expiry_text();
  s.eval(kReverse, {ref_.key()}, {ttl});
}

void ListHandle::repeat(long long n) {
  auto& s = proxy_store();
  const std::string ttl = s.expiry_text(), times = std::to_string(n);
  s.eval(kRepeat, {ref_.key()}, {ttl, times});
}

void ListHandle::clear() { proxy_store().run({"DEL", ref_.key()}); }

bool ListHandle::replace_if(const std::vector<std::string>& expected,
                            const std::vector<std::string>& next) {
  auto& s = proxy_store();
  const std::string ttl = s.expiry_text(), ne = std::to_string(expected.size());
  const std::vector<std::string_view> keys{ref_.key()};
  std::vector<std::string_view> args{ttl, ne};
  args.insert(args.end(), expected.begin(), expected.end());
  args.insert(args.end(), next.begin(), next.end());
  return s.eval(kReplaceIf, keys, args).integer == 1;
}

void throw_index_error(long long i) {
  throw IndexError("list index " + std::to_string(i) + " out of range");
}

}  // namespace lithops::multiprocessing::detail
