#include "lithops/multiprocessing/event.hpp"

#include <cstdio>

#include "event_internal.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "runtime.hpp"

namespace lithops::multiprocessing {
namespace detail {

const std::string_view kWakeAllLua = R"lua(
local function wake_all(registry, ttl)
  local waiters = redis.call('SMEMBERS', registry)
  for i = 1, #waiters do
    redis.call('RPUSH', waiters[i], '1')
    redis.call('EXPIRE', waiters[i], ttl)
  end
  redis.call('DEL', registry)
end
)lua";

const std::string_view kRegisterWaiterLua = R"lua(
local function register_waiter(registry, waiter, ttl)
  redis.call('SADD', registry, waiter)
  redis.call('EXPIRE', registry, ttl)
end
)lua";

namespace {
// Leaving after a timeout: a wake that raced with the timeout still counts.
const Script kLeave{R"lua(
redis.call('SREM', KEYS[1], KEYS[2])
local token = redis.call('LPOP', KEYS[2])
redis.call('DEL', KEYS[2])
if token then return 1 end
return 0
)lua"};

std::string with(std::string_view helper, std::string_view body) {
  return std::string(helper) + std::string(body);
}

// KEYS: registry, waiter, flag. ARGV: ttl, register.
const std::string kEventEnterSource = with(kRegisterWaiterLua, R"lua(
if redis.call('EXISTS', KEYS[3]) == 1 then return 1 end
if ARGV[2] == '1' then register_waiter(KEYS[1], KEYS[2], ARGV[1]) end
return 0
)lua");
const Script kEventEnter{kEventEnterSource};

// KEYS: flag, registry. ARGV: ttl.
const std::string kEventSetSource = with(kWakeAllLua, R"lua(
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
wake_all(KEYS[2], ARGV[1])
return 1
)lua");
const Script kEventSet{kEventSetSource};

Store& store() {
  Runtime* rt = Runtime::current();
  if (!rt) throw OSError("the Lithops session has ended; its events are gone");
  return rt->store();
}
}  // namespace

bool wait_for_wake(Store& s, const ObjectRef& ref, const Script& enter,
                   std::vector<std::string> extra_keys, Timeout timeout) {
  const std::string registry = ref.key("waiters");
  const std::string waiter = ref.key("w:" + Runtime::get().new_id());
  const std::string ttl = s.expiry_text();
  const bool may_block = !timeout || *timeout > Duration::zero();
  std::vector<std::string_view> keys{registry, waiter};
  for (const auto& k : extra_keys) keys.push_back(k);
  const std::string_view args[] = {ttl, may_block ? "1" : "0"};
  if (s.eval(enter, keys, args).integer == 1) return true;
  if (!may_block) return false;
  if (s.blpop(waiter, timeout)) return true;
  return s.eval(kLeave, {registry, waiter}, {}).integer == 1;
}

}  // namespace detail

Event::Event() : ref_(detail::ObjectRef::create("event")) { ref_.own_key(ref_.key("waiters")); }

bool Event::is_set() const { return detail::store().run({"EXISTS", ref_.key()}).integer == 1; }

void Event::set() {
  auto& s = detail::store();
  s.eval(detail::kEventSet, {ref_.key(), ref_.key("waiters")}, {s.expiry_text()});
}

void Event::clear() { detail::store().run({"DEL", ref_.key()}); }

bool Event::wait() const { return wait_for(std::nullopt); }

std::string Event::repr() const {
  char addr[32];
  std::snprintf(addr, sizeof addr, "%p", static_cast<const void*>(this));
  return std::string("<Event at ") + addr + (is_set() ? " set>" : " unset>");
}

bool Event::wait_for(detail::Timeout timeout) const {
  return detail::wait_for_wake(detail::store(), ref_, detail::kEventEnter, {ref_.key()}, timeout);
}

}  // namespace lithops::multiprocessing
