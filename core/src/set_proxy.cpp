// SetProxy on Redis: one SET at the object's base key, members are the items' JSON text. Single
// commands are pipelined with the EXPIRE that keeps the set alive; the in-place updates are one
// Lua script so they are atomic whatever other processes do.
#include "lithops/multiprocessing/set_proxy.hpp"

#include "proxy_internal.hpp"

namespace lithops::multiprocessing::detail {
namespace {

// KEYS: set. ARGV: ttl, op, items... Returns the new size.
const Script kApply{R"lua(
local s, ttl, op = KEYS[1], ARGV[1], ARGV[2]
if op == 'update' then
  for i = 3, #ARGV do redis.call('SADD', s, ARGV[i]) end
elseif op == 'difference_update' then
  for i = 3, #ARGV do redis.call('SREM', s, ARGV[i]) end
elseif op == 'intersection_update' then
  local keep = {}
  for i = 3, #ARGV do keep[ARGV[i]] = true end
  for _, m in ipairs(redis.call('SMEMBERS', s)) do
    if not keep[m] then redis.call('SREM', s, m) end
  end
elseif op == 'symmetric_difference_update' then
  local seen = {}
  for i = 3, #ARGV do
    local x = ARGV[i]
    if not seen[x] then
      seen[x] = true
      if redis.call('SREM', s, x) == 0 then redis.call('SADD', s, x) end
    end
  end
else
  return redis.error_reply('unknown set operation ' .. op)
end
redis.call('EXPIRE', s, ttl)
return redis.call('SCARD', s)
)lua"};

}  // namespace

SetHandle::SetHandle() : ref_(ObjectRef::create("set")) {}

SetHandle SetHandle::attach(const boost::json::value& handle) {
  return SetHandle(ObjectRef::attach(handle, "set"));
}

bool SetHandle::add(std::string_view item) {
  auto& s = proxy_store();
  const std::vector<sdk::Command> cmds{{"SADD", ref_.key(), std::string(item)},
                                       {"EXPIRE", ref_.key(), s.expiry_text()}};
  auto replies = s.pipeline(cmds);
  check_replies(replies);
  return replies[0].integer == 1;
}

bool SetHandle::remove(std::string_view item) {
  return proxy_store().run({"SREM", ref_.key(), item}).integer == 1;
}

std::optional<std::string> SetHandle::pop() {
  auto r = proxy_store().run({"SPOP", ref_.key()});
  if (r.is_nil()) return std::nullopt;
  return std::move(r.str);
}

bool SetHandle::contains(std::string_view item) const {
  return proxy_store().run({"SISMEMBER", ref_.key(), item}).integer == 1;
}

long long SetHandle::size() const { return proxy_store().run({"SCARD", ref_.key()}).integer; }

std::vector<std::string> SetHandle::members() const {
  auto r = proxy_store().run({"SMEMBERS", ref_.key()});
  std::vector<std::string> out;
  out.reserve(r.elements.size());
  for (auto& e : r.elements) out.push_back(std::move(e.str));
  return out;
}

void SetHandle::clear() { proxy_store().run({"DEL", ref_.key()}); }

void SetHandle::apply(std::string_view op, const std::vector<std::string>& items) {
  auto& s = proxy_store();
  const std::string ttl = s.expiry_text();
  const std::vector<std::string_view> keys{ref_.key()};
  std::vector<std::string_view> args{ttl, op};
  args.insert(args.end(), items.begin(), items.end());
  s.eval(kApply, keys, args);
}

void check_hashable(const boost::json::value& v) {
  if (v.is_object()) {
    throw TypeError("unhashable type: 'dict' (a JSON object cannot be a set item)");
  }
  if (v.is_array()) {
    throw TypeError(
        "unhashable type: 'list' (a JSON array cannot be a set item; use a SetProxy of "
        "std::vector or std::tuple for tuple-like items)");
  }
}

}  // namespace lithops::multiprocessing::detail
