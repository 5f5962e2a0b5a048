// Condition on Redis.
//
// Layout, under the lock's hash tag (so the scripts touch one Cluster slot):
//   <lock key>:cv:<id>          list of registered waiter ids, in arrival order
//   <lock key>:cv:<id>:<waiter> a waiter's wake list; notify pushes one token, the waiter pops it
//                               (Redis deletes a list when it becomes empty: nothing to clean up)
#include <boost/json.hpp>

#include "lithops/multiprocessing/condition.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "runtime.hpp"
#include "sync_internal.hpp"

namespace lithops::multiprocessing {
namespace json = boost::json;
using detail::Script;

namespace {

// KEYS: lock record, lock wake list, waiters. ARGV: owner id, waiter id, expiry seconds,
// reentrant ('1': an RLock hash; else a Lock string). Releases the lock whatever its level and
// registers the waiter, atomically, so a notify issued as soon as the lock is free already sees
// this waiter. Returns the saved level, -1 if the caller is not the owner.
const Script kWait{R"lua(
local level = 1
if ARGV[4] == '1' then
  if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return -1 end
  level = tonumber(redis.call('HGET', KEYS[1], 'count'))
else
  local v = redis.call('GET', KEYS[1])
  if v ~= ARGV[1] and v ~= ARGV[1] .. '\031' then return -1 end
end
redis.call('DEL', KEYS[1])
if redis.call('LLEN', KEYS[2]) == 0 then redis.call('RPUSH', KEYS[2], '1') end
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[3])
return level
)lua"};

// KEYS: waiters, this waiter's wake list. ARGV: waiter id.
// After a timed-out wait: 0 if the waiter was still registered (a real timeout), 1 if a notify
// picked it in the meantime (then its token is discarded and the wait counts as notified).
const Script kCancel{R"lua(
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
return 1
)lua"};

// KEYS: lock record, waiters. ARGV: owner id, n, expiry seconds, reentrant. Returns the number
// woken, -1 if the caller does not hold the lock.
const Script kNotify{R"lua(
local owner
if ARGV[4] == '1' then owner = redis.call('HGET', KEYS[1], 'owner')
else
  owner = redis.call('GET', KEYS[1])
  if owner and string.sub(owner, -1) == '\031' then owner = string.sub(owner, 1, -2) end
end
if owner ~= ARGV[1] then return -1 end
local n = tonumber(ARGV[2])
local woken = 0
while woken < n do
  local w = redis.call('LPOP', KEYS[2])
  if not w then break end
  local k = KEYS[2] .. ':' .. w
  redis.call('RPUSH', k, '1')
  redis.call('EXPIRE', k, ARGV[3])
  woken = woken + 1
end
return woken
)lua"};

std::string waiters_key(const detail::ObjectRef& ref) {
  return std::string(ref.properties().at("waiters").as_string());
}

}  // namespace

Condition::Condition(const detail::ObjectRef& lock, bool reentrant)
    : ref_(detail::ObjectRef::create("condition")), lock_(lock), reentrant_(reentrant) {
  const std::string waiters = lock.key("cv:" + detail::Runtime::get().new_id());
  ref_.properties()["lock"] = lock.to_json();
  ref_.properties()["reentrant"] = reentrant;
  ref_.properties()["waiters"] = waiters;
  ref_.own_key(waiters);
}

Condition::Condition(detail::ObjectRef ref) : ref_(std::move(ref)) {
  const auto& props = ref_.properties();
  const auto* r = props.if_contains("reentrant");
  reentrant_ = r && r->is_bool() && r->as_bool();
  if (!props.contains("lock") || !props.contains("waiters")) {
    throw TypeError("malformed condition handle: " + json::serialize(ref_.to_json()));
  }
  lock_ = detail::ObjectRef::attach(props.at("lock"), reentrant_ ? "rlock" : "lock");
}

bool Condition::wait_impl(detail::Timeout timeout) {
  auto& rt = detail::Runtime::get();
  auto& store = rt.store();
  const std::string waiters = waiters_key(ref_);
  const std::string waiter = rt.new_id();
  const std::string wake = waiters + ":" + waiter;
  const std::string lock_wake = detail::lock_wake_key(lock_);
  const auto level =
      store
          .eval(kWait, {lock_.key(), lock_wake, waiters},
                {detail::lock_owner_id(), waiter, store.expiry_text(), reentrant_ ? "1" : "0"})
          .integer;
  if (level < 0) throw ValueError("cannot wait on un-acquired lock");
  detail::lease_drop(lock_);

  bool notified = store.blpop(wake, timeout).has_value();
  if (!notified) notified = store.eval(kCancel, {waiters, wake}, {waiter}).integer == 1;

  // Re-acquire with the saved level, however long it takes (as Python).
  detail::wait_until([&] { return detail::lock_try_waiting(lock_, reentrant_, level) > 0; },
                     lock_wake, true, std::nullopt);
  return notified;
}

void Condition::notify_impl(long long n) {
  if (n <= 0) return;
  auto& store = detail::Runtime::get().store();
  const std::string waiters = waiters_key(ref_);
  const auto woken = store
                         .eval(kNotify, {lock_.key(), waiters},
                               {detail::lock_owner_id(), std::to_string(n), store.expiry_text(),
                                reentrant_ ? "1" : "0"})
                         .integer;
  if (woken < 0) throw ValueError("cannot notify on un-acquired lock");
}

}  // namespace lithops::multiprocessing
