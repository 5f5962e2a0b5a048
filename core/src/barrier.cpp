// Barrier on Redis.
//
// Layout:
//   <key>        hash {count, gen, broken}: arrivals in the current round, the round number, and
//                whether the barrier is broken (absent = a fresh barrier: all zero)
//   <key>:rel0/1 release lists of even/odd rounds. Tokens read "<round>:ok" or "<round>:broken";
//                a waiter discards tokens of other rounds (leftovers of a broken round).
//
// A round can only complete once every party has arrived, and a party arrives only after it has
// taken its token of the previous round, so the two lists are never needed by three rounds.
#include <boost/json.hpp>

#include "lithops/multiprocessing/barrier.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/registry.hpp"
#include "runtime.hpp"

namespace lithops::multiprocessing {
namespace json = boost::json;
using detail::Script;

namespace {

// Every script below: KEYS = state hash, rel0, rel1.

// ARGV: parties, has action ('1'/'0'), expiry. Returns {index, round, state}: state 0 = wait,
// 1 = last party, run the action then release, 2 = last party, released already; index -1 =
// the barrier is broken.
const Script kArrive{R"lua(
local h = KEYS[1]
if redis.call('HGET', h, 'broken') == '1' then return {-1, 0, 0} end
local gen = tonumber(redis.call('HGET', h, 'gen') or '0')
local count = tonumber(redis.call('HGET', h, 'count') or '0')
local parties = tonumber(ARGV[1])
local index = count
count = count + 1
if count < parties or ARGV[2] == '1' then
  redis.call('HSET', h, 'count', count, 'gen', gen)
  redis.call('EXPIRE', h, ARGV[3])
  if count < parties then return {index, gen, 0} end
  return {index, gen, 1}
end
redis.call('HSET', h, 'count', 0, 'gen', gen + 1)
redis.call('EXPIRE', h, ARGV[3])
local rel = KEYS[2 + gen % 2]
for i = 1, parties - 1 do redis.call('RPUSH', rel, gen .. ':ok') end
redis.call('EXPIRE', rel, ARGV[3])
return {index, gen, 2}
)lua"};

// After the action. ARGV: round, parties, expiry. 1 if released, 0 if broken meanwhile.
const Script kRelease{R"lua(
local h = KEYS[1]
local gen = tonumber(redis.call('HGET', h, 'gen') or '0')
if redis.call('HGET', h, 'broken') == '1' or gen ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', h, 'count', 0, 'gen', gen + 1)
redis.call('EXPIRE', h, ARGV[3])
local rel = KEYS[2 + gen % 2]
for i = 1, tonumber(ARGV[2]) - 1 do redis.call('RPUSH', rel, gen .. ':ok') end
redis.call('EXPIRE', rel, ARGV[3])
return 1
)lua"};

// abort(), or a failed action. ARGV: parties, expiry. Wakes every waiter with a broken token.
const Script kBreak{R"lua(
local h = KEYS[1]
local gen = tonumber(redis.call('HGET', h, 'gen') or '0')
local count = tonumber(redis.call('HGET', h, 'count') or '0')
local waiting = math.min(count, tonumber(ARGV[1]) - 1)
if redis.call('HGET', h, 'broken') == '1' then waiting = 0 end
redis.call('HSET', h, 'broken', 1, 'count', 0, 'gen', gen)
redis.call('EXPIRE', h, ARGV[2])
local rel = KEYS[2 + gen % 2]
for i = 1, waiting do redis.call('RPUSH', rel, gen .. ':broken') end
redis.call('EXPIRE', rel, ARGV[2])
return waiting
)lua"};

// reset(). ARGV: parties, expiry. Current waiters get broken tokens; the next round starts empty.
const Script kReset{R"lua(
local h = KEYS[1]
local gen = tonumber(redis.call('HGET', h, 'gen') or '0')
local count = tonumber(redis.call('HGET', h, 'count') or '0')
if redis.call('HGET', h, 'broken') ~= '1' and count > 0 then
  local rel = KEYS[2 + gen % 2]
  for i = 1, math.min(count, tonumber(ARGV[1]) - 1) do redis.call('RPUSH', rel, gen .. ':broken') end
  redis.call('EXPIRE', rel, ARGV[2])
end
redis.call('HSET', h, 'broken', 0, 'count', 0, 'gen', gen + 1)
redis.call('EXPIRE', h, ARGV[2])
return 1
)lua"};

// A waiter's own timeout ran out. ARGV: round, expiry. If the round is still open, this waiter
// breaks it (waking the others); if it ended meanwhile, the waiter takes its token instead.
// Returns 1 if the round passed normally, 0 if broken.
const Script kTimedOut{R"lua(
local h = KEYS[1]
local g = tonumber(ARGV[1])
local rel = KEYS[2 + g % 2]
local gen = tonumber(redis.call('HGET', h, 'gen') or '0')
if gen == g and redis.call('HGET', h, 'broken') ~= '1' then
  local count = tonumber(redis.call('HGET', h, 'count') or '0')
  redis.call('HSET', h, 'broken', 1, 'count', 0)
  redis.call('EXPIRE', h, ARGV[2])
  for i = 1, count - 1 do redis.call('RPUSH', rel, g .. ':broken') end
  redis.call('EXPIRE', rel, ARGV[2])
  return 0
end
local prefix = g .. ':'
while true do
  local t = redis.call('LPOP', rel)
  if not t then return 0 end
  if string.sub(t, 1, #prefix) == prefix then
    if t == prefix .. 'ok' then return 1 end
    return 0
  end
end
)lua"};

std::int64_t int_prop(const detail::ObjectRef& ref, const char* name, std::int64_t fallback) {
  const auto* v = ref.properties().if_contains(name);
  return v && v->is_int64() ? v->as_int64() : fallback;
}

[[noreturn]] void throw_broken() { throw BrokenBarrierError("the barrier is broken"); }

}  // namespace

Barrier::Barrier(int parties, Function action, detail::Timeout timeout)
    : ref_(detail::ObjectRef::create("barrier")) {
  if (parties < 1) throw ValueError("mp::Barrier: parties must be >= 1");
  auto& props = ref_.properties();
  props["parties"] = parties;
  props["action"] = action.name;
  if (timeout) {
    props["timeout_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout).count();
  }
  ref_.own_key(ref_.key("rel0"));
  ref_.own_key(ref_.key("rel1"));
}

int Barrier::parties() const { return static_cast<int>(int_prop(ref_, "parties", 1)); }

detail::Timeout Barrier::default_timeout() const {
  const auto ms = int_prop(ref_, "timeout_ms", -1);
  if (ms < 0) return std::nullopt;
  return std::chrono::milliseconds(ms);
}

int Barrier::wait_impl(detail::Timeout timeout) {
  auto& store = detail::Runtime::get().store();
  const std::string ttl = store.expiry_text();
  const std::string n = std::to_string(parties());
  const std::string rel0 = ref_.key("rel0"), rel1 = ref_.key("rel1");
  const auto* action_prop = ref_.properties().if_contains("action");
  const std::string action =
      action_prop && action_prop->is_string() ? std::string(action_prop->as_string()) : "";
  const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                : std::chrono::steady_clock::time_point::max();

  auto r = store.eval(kArrive, {ref_.key(), rel0, rel1}, {n, action.empty() ? "0" : "1", ttl});
  const long long index = r.elements.at(0).integer;
  const long long round = r.elements.at(1).integer;
  const long long state = r.elements.at(2).integer;
  if (index < 0) throw_broken();
  if (state == 2) return static_cast<int>(index);
  if (state == 1) {
    try {
      auto fn = detail::find_function(action);
      fn.invoker(fn.fn, json::array());
    } catch (...) {
      store.eval(kBreak, {ref_.key(), rel0, rel1}, {n, ttl});
      throw;
    }
    const std::string g = std::to_string(round);
    if (store.eval(kRelease, {ref_.key(), rel0, rel1}, {g, n, ttl}).integer != 1) throw_broken();
    return static_cast<int>(index);
  }

  const std::string& rel = round % 2 == 0 ? rel0 : rel1;
  const std::string prefix = std::to_string(round) + ":";
  for (;;) {
    detail::Timeout left;
    if (timeout) left = std::max(deadline - std::chrono::steady_clock::now(), detail::Duration{});
    auto token = store.blpop(rel, left);
    if (!token) {
      const std::string g = std::to_string(round);
      if (store.eval(kTimedOut, {ref_.key(), rel0, rel1}, {g, ttl}).integer == 1) {
        return static_cast<int>(index);
      }
      throw_broken();
    }
    if (token->rfind(prefix, 0) != 0) continue;  // a leftover of an earlier, broken round
    if (*token == prefix + "ok") return static_cast<int>(index);
    throw_broken();
  }
}

void Barrier::abort() {
  auto& store = detail::Runtime::get().store();
  store.eval(kBreak, {ref_.key(), ref_.key("rel0"), ref_.key("rel1")},
             {std::to_string(parties()), store.expiry_text()});
}

void Barrier::reset() {
  auto& store = detail::Runtime::get().store();
  store.eval(kReset, {ref_.key(), ref_.key("rel0"), ref_.key("rel1")},
             {std::to_string(parties()), store.expiry_text()});
}

int Barrier::n_waiting() const {
  auto r = detail::Runtime::get().store().run({"HMGET", ref_.key(), "count", "broken"});
  if (r.elements.size() != 2 || r.elements[1].str == "1") return 0;
  const int count = std::atoi(r.elements[0].str.c_str());
  return std::min(count, parties() - 1);
}

bool Barrier::broken() const {
  return detail::Runtime::get().store().run({"HGET", ref_.key(), "broken"}).str == "1";
}

}  // namespace lithops::multiprocessing
