// Lock, RLock, Semaphore, BoundedSemaphore on Redis, and the lease renewer behind Lock/RLock.
//
// Redis layout (all keys of one object share its hash tag, see ObjectRef):
//   lock        <key>        string: the owner id, plus kWaitedMark once a blocking acquirer
//                            waits for it; exists only while held; TTL = the lease
//   rlock       <key>        hash {owner, count, name}; exists only while held; TTL = the lease
// The owner id is "<process token>:<ident>/<thread>#<owner name>", the owner name being the
// process name plus "|T<n>" off the main thread (LK-04/RL-04 reprs): it rides in the same SET
// value, so naming the owner costs no extra round trip.
//   lock/rlock  <key>:wake   list; at most one token, pushed by release, popped by one waiter
// A plain Lock takes SET NX PX to acquire and GETDEL to release (plus the wake push only when a
// waiter marked the value), so uncontended acquire + release costs two native commands, the floor.
//   semaphore   <key>        string counter
//               <key>:wake   list; up to `counter` tokens, pushed by release
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <random>
#include <thread>

#include <boost/json.hpp>

#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/process.hpp"
#include "lithops/multiprocessing/semaphore.hpp"
#include "runtime.hpp"
#include "sync_internal.hpp"

namespace lithops::multiprocessing::detail {
namespace json = boost::json;

namespace {

// Longest BLPOP between two attempts: bounds the delay after a lost wake token or an expired lease.
constexpr Duration kRetrySlice = std::chrono::seconds(1);

// RLock only. KEYS: owner hash. ARGV: owner id, lease ms, reentrant ('1'/'0'), levels to add,
// owner name. Returns the holder's new level, or 0 if another owner holds it.
const Script kLockTry{R"lua(
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'count', ARGV[4], 'name', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(ARGV[4])
end
if ARGV[3] == '1' and owner == ARGV[1] then
  local level = redis.call('HINCRBY', KEYS[1], 'count', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return level
end
return 0
)lua"};

// RLock only. KEYS: owner hash, wake list. ARGV: owner id, reentrant, expiry seconds.
// Returns -1 if not held, -2 if held by another owner, else the level left.
const Script kLockRelease{R"lua(
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return -1 end
if ARGV[2] == '1' then
  if owner ~= ARGV[1] then return -2 end
  local level = redis.call('HINCRBY', KEYS[1], 'count', -1)
  if level > 0 then return level end
end
redis.call('DEL', KEYS[1])
if redis.call('LLEN', KEYS[2]) == 0 then redis.call('RPUSH', KEYS[2], '1') end
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 0
)lua"};

// Plain Lock, an attempt by a blocking acquirer. KEYS: owner string. ARGV: owner id, lease ms.
// 1 if taken; else 0, after marking the holder's value (see kWaitedMark) so its release pushes a
// wake token. A winner marks its own value too: other waiters may still sleep, and its release
// must wake the next one (at worst a spare token costs a later waiter one extra attempt).
const Script kLockTryWaiting{R"lua(
if redis.call('SET', KEYS[1], ARGV[1] .. '\031', 'NX', 'PX', ARGV[2]) then return 1 end
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, -1) ~= '\031' then redis.call('APPEND', KEYS[1], '\031') end
return 0
)lua"};

// KEYS: owner record (string or hash). ARGV: owner id, lease ms. 1 if still ours (lease
// extended), else 0.
const Script kLockRenew{R"lua(
local t = redis.call('TYPE', KEYS[1]).ok
local owner
if t == 'string' then
  owner = redis.call('GET', KEYS[1])
  if string.sub(owner, -1) == '\031' then owner = string.sub(owner, 1, -2) end
elseif t == 'hash' then owner = redis.call('HGET', KEYS[1], 'owner') end
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
)lua"};

// KEYS: counter. ARGV: expiry seconds. 1 if a unit was taken.
const Script kSemAcquire{R"lua(
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v > 0 then
  redis.call('DECR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  return 1
end
return 0
)lua"};

// KEYS: counter, wake list. ARGV: expiry seconds, bound (-1: none). -1 if over the bound.
// Keeps at most `counter` wake tokens, so tokens of waiters that gave up do not pile up.
const Script kSemRelease{R"lua(
local bound = tonumber(ARGV[2])
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if bound >= 0 and v >= bound then return -1 end
v = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
if redis.call('LLEN', KEYS[2]) < v then redis.call('RPUSH', KEYS[2], '1') end
redis.call('EXPIRE', KEYS[2], ARGV[1])
return v
)lua"};

std::string random_token() {
  std::mt19937_64 rng{std::random_device{}()};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

std::string thread_number() {
  static std::atomic<unsigned long long> counter{0};
  thread_local const std::string n = std::to_string(++counter);
  return n;
}

// Keeps the owner records of held locks alive; one thread per process, started on first use.
// Its static instance is created after the Runtime (a lock needs one), so it is destroyed, and its
// thread joined, before the Runtime's atexit shutdown runs.
class LeaseRenewer {
 public:
  static LeaseRenewer& instance() {
    static LeaseRenewer renewer;
    return renewer;
  }

  void hold(const std::string& key, const std::string& owner, std::chrono::milliseconds lease) {
    std::lock_guard lock(mutex_);
    const auto due = Clock::now() + lease / 3;
    held_[key] = Entry{owner, lease, ++generation_, due};
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    // Waking the renewer on every acquire would cost a context switch per lock operation.
    if (due < sleeping_until_) cv_.notify_one();
  }

  void drop(const std::string& key) {
    std::lock_guard lock(mutex_);
    held_.erase(key);
  }

  void drop_all() {
    std::lock_guard lock(mutex_);
    held_.clear();
  }

  ~LeaseRenewer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::string owner;
    std::chrono::milliseconds lease;
    unsigned long long generation;
    Clock::time_point due;
  };

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      auto next = Clock::time_point::max();
      for (const auto& [key, e] : held_) next = std::min(next, e.due);
      if (Clock::now() < next || next == Clock::time_point::max()) {
        sleeping_until_ = next;
        if (next == Clock::time_point::max()) {
          cv_.wait(lock);
        } else {
          cv_.wait_until(lock, next);
        }
        sleeping_until_ = Clock::time_point::min();
        continue;
      }
      // Renew every due entry, without holding the mutex across round trips.
      std::vector<std::pair<std::string, Entry>> due;
      for (const auto& [key, e] : held_) {
        if (e.due <= Clock::now()) due.emplace_back(key, e);
      }
      lock.unlock();
      std::vector<bool> renewed;
      for (const auto& [key, e] : due) renewed.push_back(renew(key, e));
      lock.lock();
      for (std::size_t i = 0; i < due.size(); ++i) {
        auto it = held_.find(due[i].first);
        if (it == held_.end() || it->second.generation != due[i].second.generation) continue;
        if (renewed[i]) {
          it->second.due = Clock::now() + it->second.lease / 3;
        } else {
          held_.erase(it);  // released elsewhere (LK-05) or already expired: nothing to keep
        }
      }
    }
  }

  static bool renew(const std::string& key, const Entry& e) {
    Runtime* rt = Runtime::current();
    if (!rt) return false;
    try {
      const std::string lease = std::to_string(e.lease.count());
      return rt->store().eval(kLockRenew, {key}, {e.owner, lease}).integer == 1;
    } catch (const std::exception& ex) {
      // Keep trying: a short outage must not cost the lock while the lease still runs.
      std::fprintf(stderr, "lithops: could not renew the lease of %s: %s\n", key.c_str(),
                   ex.what());
      return true;
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, Entry> held_;
  unsigned long long generation_ = 0;
  Clock::time_point sleeping_until_ = Clock::time_point::min();  // min: awake
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

const std::string& lock_owner_id() {
  // A random token, not the pid: pids repeat across machines of a serverless backend. The
  // invocation ident separates successive invocations served by one warm worker thread.
  static const std::string process_token = random_token();
  thread_local std::string id;
  thread_local std::string ident_seen = "\x01";
  auto ident = current_process().ident;
  if (ident != ident_seen) {
    const bool main_thread = ::gettid() == ::getpid();
    id = process_token + ":" + ident + "/" + thread_number() + "#" + current_process().name +
         (main_thread ? "" : "|T" + thread_number());
    ident_seen = std::move(ident);
  }
  return id;
}

std::chrono::milliseconds lock_lease(const ObjectRef& lock) {
  const auto* v = lock.properties().if_contains("lease_ms");
  return std::chrono::milliseconds(v && v->is_int64() ? v->as_int64() : 10000);
}

long long lock_try(const ObjectRef& lock, bool reentrant, long long count) {
  auto& store = Runtime::get().store();
  const std::string lease = std::to_string(lock_lease(lock).count());
  if (!reentrant) {
    auto r = store.run({"SET", lock.key(), lock_owner_id(), "NX", "PX", lease});
    if (r.is_nil()) return 0;
    lease_hold(lock);
    return 1;
  }
  const std::string levels = std::to_string(count);
  const std::string& id = lock_owner_id();
  const std::string name = id.substr(id.find('#') + 1);
  auto r = store.eval(kLockTry, {lock.key()},
                      {lock_owner_id(), lease, reentrant ? "1" : "0", levels, name});
  if (r.integer > 0) lease_hold(lock);
  return r.integer;
}

bool wait_until(const std::function<bool()>& attempt, const std::string& wake_key, bool block,
                Timeout timeout) {
  if (attempt()) return true;
  if (!block) return false;
  auto& store = Runtime::get().store();
  const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                : std::chrono::steady_clock::time_point::max();
  for (;;) {
    Duration slice = kRetrySlice;
    if (timeout) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= Duration::zero()) return false;
      slice = std::min(slice, std::chrono::duration_cast<Duration>(left));
    }
    store.blpop(wake_key, slice);
    if (attempt()) return true;
  }
}

void lease_hold(const ObjectRef& lock) {
  LeaseRenewer::instance().hold(lock.key(), lock_owner_id(), lock_lease(lock));
}
void lease_drop(const ObjectRef& lock) { LeaseRenewer::instance().drop(lock.key()); }
void drop_all_leases() { LeaseRenewer::instance().drop_all(); }

ObjectRef lock_create(std::string_view kind, const LockOptions& options) {
  if (options.lease < std::chrono::milliseconds(100)) {
    throw ValueError("mp::LockOptions::lease must be at least 100 ms");
  }
  auto ref = ObjectRef::create(kind);
  ref.properties()["lease_ms"] = static_cast<std::int64_t>(options.lease.count());
  ref.own_key(lock_wake_key(ref));
  return ref;
}

long long lock_try_waiting(const ObjectRef& lock, bool reentrant, long long count) {
  if (reentrant) return lock_try(lock, reentrant, count);
  const std::string lease = std::to_string(lock_lease(lock).count());
  if (Runtime::get()
          .store()
          .eval(kLockTryWaiting, {lock.key()}, {lock_owner_id(), lease})
          .integer != 1) {
    return 0;
  }
  lease_hold(lock);
  return 1;
}

bool lock_acquire(const ObjectRef& ref, bool reentrant, bool block, Timeout timeout) {
  // The first attempt is the plain one; a blocking acquirer then marks the lock before it sleeps.
  if (lock_try(ref, reentrant, 1) > 0) return true;
  if (!block) return false;
  return wait_until([&] { return lock_try_waiting(ref, reentrant, 1) > 0; }, lock_wake_key(ref),
                    true, timeout);
}

void lock_release(const ObjectRef& ref, bool reentrant) {
  auto& store = Runtime::get().store();
  const std::string wake = lock_wake_key(ref);
  if (!reentrant) {
    // No owner check (LK-05). Uncontended, one native command: GETDEL frees the lock and tells
    // whether a waiter marked it (kWaitedMark), and only then a second round trip leaves exactly
    // one wake token. A waiter marks the value atomically with its failed attempt, before it
    // sleeps, so no wake-up is lost. Not a transaction: a client dying between GETDEL and RPUSH
    // leaves a free lock whose waiters wake at their next retry slice instead of at once.
    auto r = store.run({"GETDEL", ref.key()});
    lease_drop(ref);
    if (r.is_nil()) throw ValueError("semaphore or lock released too many times");
    if (r.str.empty() || r.str.back() != kWaitedMark) return;
    std::vector<sdk::Command> cmds{
        {"RPUSH", wake, "1"}, {"LTRIM", wake, "0", "0"}, {"EXPIRE", wake, store.expiry_text()}};
    for (const auto& reply : store.pipeline(cmds)) {
      if (reply.is_error()) {
        throw OSError(store.raw().endpoint() + ": lock release failed: " + reply.str);
      }
    }
    return;
  }
  auto r = store.eval(kLockRelease, {ref.key(), wake},
                      {lock_owner_id(), reentrant ? "1" : "0", store.expiry_text()});
  if (r.integer == -1) throw ValueError("cannot release un-acquired lock");
  if (r.integer == -2)
    throw ValueError("cannot release un-acquired lock (owned by another thread)");
  if (r.integer == 0) lease_drop(ref);
}

bool lock_locked(const ObjectRef& ref) {
  return Runtime::get().store().run({"EXISTS", ref.key()}).integer == 1;
}

long long lock_count_mine(const ObjectRef& ref) {
  auto r = Runtime::get().store().run({"HMGET", ref.key(), "owner", "count"});
  if (r.elements.size() != 2 || r.elements[0].str != lock_owner_id()) return 0;
  return std::atoll(r.elements[1].str.c_str());
}

namespace {
// How a repr names the holder whose owner id is `owner`, as CPython does: this thread's own
// name, SomeOtherThread for another thread of this process, else the holder's stored name.
std::string owner_name(const std::string& owner) {
  const std::string& mine = lock_owner_id();
  const auto hash = owner.find('#');
  if (owner == mine) return mine.substr(mine.find('#') + 1);
  const auto slash = owner.find('/');
  if (slash != std::string::npos && owner.compare(0, slash, mine, 0, mine.find('/')) == 0) {
    return "SomeOtherThread";
  }
  if (hash == std::string::npos || hash + 1 == owner.size()) return "SomeOtherProcess";
  return owner.substr(hash + 1);
}
}  // namespace

std::string lock_repr(const ObjectRef& ref, bool reentrant) {
  auto& store = Runtime::get().store();
  if (!reentrant) {
    auto r = store.run({"GET", ref.key()});
    if (r.is_nil()) return "<Lock(owner=None)>";
    if (!r.str.empty() && r.str.back() == kWaitedMark) r.str.pop_back();
    return "<Lock(owner=" + owner_name(r.str) + ")>";
  }
  auto r = store.run({"HMGET", ref.key(), "owner", "count"});
  if (r.elements.size() != 2 || r.elements[0].is_nil()) return "<RLock(None, 0)>";
  return "<RLock(" + owner_name(r.elements[0].str) + ", " + r.elements[1].str + ")>";
}

// --- semaphores ----------------------------------------------------------------------------

ObjectRef semaphore_create(std::string_view kind, long long value, long long bound) {
  if (value < 0) throw ValueError("semaphore initial value must be >= 0");
  auto ref = ObjectRef::create(kind);
  ref.properties()["bound"] = bound;
  ref.own_key(ref.key("wake"));
  auto& store = Runtime::get().store();
  store.run({"SET", ref.key(), std::to_string(value), "EX", store.expiry_text()});
  return ref;
}

bool semaphore_acquire(const ObjectRef& ref, bool block, Timeout timeout) {
  auto& store = Runtime::get().store();
  const std::string ttl = store.expiry_text();
  return wait_until([&] { return store.eval(kSemAcquire, {ref.key()}, {ttl}).integer == 1; },
                    ref.key("wake"), block, timeout);
}

void semaphore_release(const ObjectRef& ref, long long bound) {
  auto& store = Runtime::get().store();
  const std::string wake = ref.key("wake");
  auto r = store.eval(kSemRelease, {ref.key(), wake}, {store.expiry_text(), std::to_string(bound)});
  if (r.integer < 0) throw ValueError("semaphore or lock released too many times");
}

long long semaphore_value(const ObjectRef& ref) {
  auto r = Runtime::get().store().run({"GET", ref.key()});
  return r.type == sdk::Reply::Type::kString ? std::atoll(r.str.c_str()) : 0;
}

}  // namespace lithops::multiprocessing::detail

namespace lithops::multiprocessing {
long long Semaphore::bound() const {
  const auto* v = ref_.properties().if_contains("bound");
  return v && v->is_int64() ? v->as_int64() : -1;
}
}  // namespace lithops::multiprocessing
