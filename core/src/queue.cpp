#include "lithops/multiprocessing/queue.hpp"

#include <algorithm>

#include "event_internal.hpp"
#include "queue_internal.hpp"

namespace lithops::multiprocessing::detail {
namespace json = boost::json;

namespace {
using Clock = std::chrono::steady_clock;

// Most items one get() takes from the store at once.
constexpr int kMaxPrefetch = 256;
// A producer waiting for room re-checks this often even without a wake token, in case the
// consumer that freed the slot died between its pop and its wake-up.
constexpr Duration kProducerSlice = std::chrono::seconds(1);

std::string with(std::string_view helper, std::string_view body) {
  return std::string(helper) + std::string(body);
}

// Synchronous put: room check, push, unfinished-count bump and TTLs in one atomic step, so a
// bounded queue never overshoots and a crash cannot leave a half-done put.
// KEYS: items, putters, space, unfinished.
// ARGV: ttl, maxsize (<= 0: none), will_wait, was_waiting, joinable, item.
// Returns 1 if pushed, 0 if full (then registered as a waiting producer if will_wait), -1 if the
// queue is shut down.
const Script kPut{R"lua(
local ttl = ARGV[1]
local maxsize = tonumber(ARGV[2])
if ARGV[4] == '1' and redis.call('DECR', KEYS[2]) <= 0 then
  redis.call('DEL', KEYS[2], KEYS[3])
end
if redis.call('TYPE', KEYS[1]).ok == 'string' then return -1 end
if maxsize <= 0 or redis.call('LLEN', KEYS[1]) < maxsize then
  if ARGV[5] == '1' then
    redis.call('INCR', KEYS[4])
    redis.call('EXPIRE', KEYS[4], ttl)
  end
  redis.call('RPUSH', KEYS[1], ARGV[6])
  redis.call('EXPIRE', KEYS[1], ttl)
  return 1
end
if ARGV[3] == '1' then
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ttl)
end
return 0
)lua"};

// Bounded queues: pop one item (ARGV[2] == 'pop') or report a pop BLPOP did ('notify'), and give
// a waiting producer a wake token per freed slot (never more tokens than waiting producers).
// KEYS: items, putters, space, rest. ARGV: ttl, mode. An empty queue gives nil, or -1 once it
// is shut down (its items then come from the rest list).
const Script kPopBounded{R"lua(
local v = true
if ARGV[2] == 'pop' then
  local shut = redis.call('TYPE', KEYS[1]).ok == 'string'
  v = redis.call('LPOP', shut and KEYS[4] or KEYS[1])
  if not v then
    if shut then return -1 end
    return false
  end
end
local p = tonumber(redis.call('GET', KEYS[2]) or '0')
if p > 0 then
  redis.call('RPUSH', KEYS[3], '1')
  redis.call('LTRIM', KEYS[3], 0, p - 1)
  redis.call('EXPIRE', KEYS[3], ARGV[1])
end
return v
)lua"};

// KEYS: unfinished, registry. ARGV: ttl. Returns the new count, or -1 if it was already zero.
const std::string kTaskDoneSource = with(kWakeAllLua, R"lua(
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= 0 then return -1 end
n = redis.call('DECR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
if n == 0 then wake_all(KEYS[2], ARGV[1]) end
return n
)lua");
const Script kTaskDone{kTaskDoneSource};

// KEYS: registry, waiter, unfinished. ARGV: ttl, register.
const std::string kJoinEnterSource = with(kRegisterWaiterLua, R"lua(
if tonumber(redis.call('GET', KEYS[3]) or '0') <= 0 then return 1 end
if ARGV[2] == '1' then register_waiter(KEYS[1], KEYS[2], ARGV[1]) end
return 0
)lua");
const Script kJoinEnter{kJoinEnterSource};

// Moves the items left to the rest list and turns the items key into a string (the shutdown mark
// every list command on it then meets as WRONGTYPE), and sets the wake token. Immediate: discards
// the items (ARGV[3] more were dropped from the caller's prefetch buffer), counts each as done,
// wakes join() at zero.
// KEYS: items, rest, downwake, unfinished, registry. ARGV: ttl, immediate, dropped.
const std::string kShutdownSource = with(kWakeAllLua, R"lua(
local ttl = ARGV[1]
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'list' then redis.call('RENAME', KEYS[1], KEYS[2]) end
redis.call('SET', KEYS[1], 'shut down', 'EX', ttl)
if redis.call('LLEN', KEYS[3]) == 0 then redis.call('RPUSH', KEYS[3], '1') end
redis.call('EXPIRE', KEYS[3], ttl)
if ARGV[2] == '1' then
  local n = redis.call('LLEN', KEYS[2]) + tonumber(ARGV[3])
  redis.call('DEL', KEYS[2])
  local u = tonumber(redis.call('GET', KEYS[4]) or '0')
  if u > 0 then
    u = math.max(0, u - n)
    redis.call('SET', KEYS[4], u, 'EX', ttl)
    if u == 0 then wake_all(KEYS[5], ttl) end
  end
end
return 1
)lua");
const Script kShutdown{kShutdownSource};

// A JoinableQueue is also a Queue (as in Python): both are "queue" handles.
const char* kind_name(QueueKind k) { return k == QueueKind::kSimple ? "simple_queue" : "queue"; }

const char* class_name(QueueKind k) {
  switch (k) {
    case QueueKind::kSimple:
      return "SimpleQueue";
    case QueueKind::kJoinable:
      return "JoinableQueue";
    case QueueKind::kQueue:
      break;
  }
  return "Queue";
}

[[noreturn]] void throw_shutdown(QueueLocal& q) {
  q.shut = true;
  throw ShutDown("queue " + q.key + " is shut down");
}

// A blocked waiter took the shutdown wake token: put it back for the others.
void pass_on_wake(Store& store, const QueueLocal& q) {
  const std::vector<sdk::Command> cmds{{"LPUSH", q.downwake, "1"},
                                       {"EXPIRE", q.downwake, store.expiry_text()}};
  store.pipeline(cmds);
}

void check_open(const QueueLocal& q) {
  if (!q.closed) return;
  // Python's SimpleQueue fails on its closed pipe; Queue checks its flag first.
  if (q.kind == QueueKind::kSimple) throw OSError("handle is closed");
  throw ValueError(std::string(class_name(q.kind)) + " " + q.key + " is closed");
}

// The time left until `deadline`; std::nullopt for none.
Timeout left(std::optional<Clock::time_point> deadline) {
  if (!deadline) return std::nullopt;
  return std::max(Duration::zero(), *deadline - Clock::now());
}

std::vector<std::string> values_of(sdk::Reply& r) {
  std::vector<std::string> out;
  if (r.type == sdk::Reply::Type::kString) out.push_back(std::move(r.str));
  for (auto& e : r.elements) out.push_back(std::move(e.str));
  return out;
}
}  // namespace

QueueHandle::QueueHandle(QueueKind kind, long long maxsize) {
  auto ref = ObjectRef::create(kind_name(kind));
  if (kind == QueueKind::kSimple) maxsize = 0;
  ref.properties()["maxsize"] = maxsize;
  ref.properties()["joinable"] = kind == QueueKind::kJoinable;
  for (const char* suffix : {"rest", "putters", "space", "unfinished", "waiters", "downwake"}) {
    ref.own_key(ref.key(suffix));
  }
  local_ = QueueLocal::find_or_add(std::move(ref), kind, maxsize);
}

QueueHandle QueueHandle::attach(QueueKind kind, const json::value& handle) {
  auto ref = ObjectRef::attach(handle, kind_name(kind));
  const auto& props = ref.properties();
  const auto* joinable = props.if_contains("joinable");
  const bool is_joinable = joinable && joinable->is_bool() && joinable->get_bool();
  if (kind == QueueKind::kJoinable && !is_joinable) {
    throw TypeError("expected a JoinableQueue handle, got a plain Queue's");
  }
  long long maxsize = 0;
  if (const auto* m = props.if_contains("maxsize"); m && m->is_int64()) maxsize = m->get_int64();
  // A JoinableQueue attached as a Queue keeps counting unfinished tasks.
  const QueueKind actual = is_joinable ? QueueKind::kJoinable : kind;
  return QueueHandle(QueueLocal::find_or_add(std::move(ref), actual, maxsize));
}

long long QueueHandle::maxsize() const { return local_->maxsize; }

json::value QueueHandle::to_json() const {
  // Whoever receives the handle (a child being started, a queue reader) should find our puts.
  local_->flush();
  return local_->ref.to_json();
}

void QueueHandle::put(std::string item, bool block, Timeout timeout) {
  auto& q = *local_;
  check_open(q);
  q.used = true;
  if (q.shut) throw_shutdown(q);
  if (q.batched()) {
    q.enqueue(std::move(item));
    return;
  }
  auto& store = queue_store();
  const std::string ttl = store.expiry_text();
  const std::string max = std::to_string(q.maxsize);
  const std::string space = q.ref.key("space");
  const std::string putters = q.ref.key("putters");
  const std::string unfinished = q.ref.key("unfinished");
  const char* joinable = q.kind == QueueKind::kJoinable ? "1" : "0";
  std::optional<Clock::time_point> deadline;
  if (block && timeout) deadline = Clock::now() + *timeout;
  bool waiting = false;
  for (;;) {
    const Timeout remaining = left(deadline);
    const bool will_wait = block && (!remaining || *remaining > Duration::zero());
    const auto r =
        store.eval(kPut, {q.key, putters, space, unfinished},
                   {ttl, max, will_wait ? "1" : "0", waiting ? "1" : "0", joinable, item});
    if (r.integer == 1) return;
    if (r.integer < 0) throw_shutdown(q);
    if (!will_wait) throw Full("queue is full");
    waiting = true;
    // A token means a slot was freed; none within the slice: look again anyway.
    const Timeout slice = remaining ? std::min(*remaining, kProducerSlice) : kProducerSlice;
    const std::string wait_keys[] = {space, q.downwake};
    if (auto w = store.blpop(wait_keys, slice); w && w->first == q.downwake) {
      pass_on_wake(store, q);
    }
  }
}

std::string QueueHandle::get(bool block, Timeout timeout) {
  auto& q = *local_;
  check_open(q);
  std::optional<Clock::time_point> deadline;
  if (block && timeout) deadline = Clock::now() + *timeout;
  std::unique_lock read(q.reader, std::defer_lock);
  if (!block) {
    if (!read.try_lock()) throw Empty("queue is empty");
  } else if (deadline) {
    if (!read.try_lock_until(*deadline)) throw Empty("queue is empty");
  } else {
    read.lock();
  }
  // This process's own earlier puts come first (FIFO within a process).
  q.flush();
  if (auto v = q.take_buffered()) return std::move(*v);

  auto& store = queue_store();
  if (q.bounded()) {
    // One at a time: a prefetched item would free its slot before it is consumed.
    const std::string putters = q.ref.key("putters");
    const std::string space = q.ref.key("space");
    const std::string ttl = store.expiry_text();
    for (;;) {
      auto r = store.eval(kPopBounded, {q.key, putters, space, q.rest}, {ttl, "pop"});
      if (r.type == sdk::Reply::Type::kString) return std::move(r.str);
      if (r.type == sdk::Reply::Type::kInteger) throw_shutdown(q);
      if (!block) throw Empty("queue is empty");
      const std::string wait_keys[] = {q.key, q.downwake};
      std::optional<std::pair<std::string, std::string>> v;
      try {
        v = store.blpop(wait_keys, left(deadline));
      } catch (const WrongTypeError&) {
        continue;  // shut down since the script looked: it serves the rest list now
      }
      if (!v) throw Empty("queue is empty");
      if (v->first == q.downwake) {
        // Shut down while we waited: look again (an item may have come in between).
        pass_on_wake(store, q);
        continue;
      }
      store.eval(kPopBounded, {q.key, putters, space, q.rest}, {ttl, "notify"});
      return std::move(v->second);
    }
  }

  const int want = q.prefetch;
  const std::string count = std::to_string(want);
  std::vector<std::string> items;
  bool shut = q.shut;
  if (!shut) {
    try {
      if (!block) {
        auto r = store.run({"LPOP", q.key, count});
        items = values_of(r);
      } else {
        // The items list comes first: a wake token never hides an item that is there.
        const std::string wait_keys[] = {q.key, q.downwake};
        if (auto r = store.blmpop(wait_keys, want, left(deadline))) {
          if (r->first == q.downwake) {
            pass_on_wake(store, q);
            shut = true;
          } else {
            items = std::move(r->second);
          }
        }
      }
    } catch (const WrongTypeError&) {
      shut = true;  // the items key is the shutdown mark
    }
  }
  if (shut) {
    // After a shutdown the items left are still served, then every get raises ShutDown.
    auto r = store.run({"LPOP", q.rest, count});
    items = values_of(r);
    if (items.empty()) throw_shutdown(q);
  }
  if (items.empty()) throw Empty("queue is empty");
  // A full batch suggests a backlog: take more next time; a short one, fewer.
  q.prefetch = static_cast<int>(items.size()) == want ? std::min(kMaxPrefetch, want * 2)
                                                      : std::max(1, static_cast<int>(items.size()));
  std::string first = std::move(items.front());
  items.erase(items.begin());
  q.keep_buffered(std::move(items));
  return first;
}

namespace {
// LLEN of the items list, or of the rest list once the queue is shut down.
long long stored_items(QueueLocal& q) {
  auto& store = queue_store();
  if (!q.shut) {
    try {
      return store.run({"LLEN", q.key}).integer;
    } catch (const WrongTypeError&) {
      q.shut = true;
    }
  }
  return store.run({"LLEN", q.rest}).integer;
}
}  // namespace

long long QueueHandle::qsize() {
  auto& q = *local_;
  q.flush();
  return stored_items(q) + static_cast<long long>(q.buffered());
}

bool QueueHandle::empty() {
  auto& q = *local_;
  // QU-09 / SQ-02: a closed SimpleQueue, or a closed Queue that was put to, has closed its pipe.
  if (q.closed && (q.used || q.kind == QueueKind::kSimple)) throw OSError("handle is closed");
  return qsize() == 0;
}

bool QueueHandle::full() {
  auto& q = *local_;
  if (!q.bounded()) return false;
  q.flush();
  return stored_items(q) >= q.maxsize;
}

void QueueHandle::close() {
  auto& q = *local_;
  if (q.closed.exchange(true)) return;
  q.flush();
  std::lock_guard read(q.reader);
  q.give_back();
}

void QueueHandle::join_thread() { local_->flush(); }

void QueueHandle::shutdown(bool immediate) {
  auto& q = *local_;
  try {
    q.flush();
  } catch (const ShutDown&) {
    // Already shut down by another process: shut down again (an immediate one still discards).
  }
  std::size_t dropped = 0;
  std::unique_lock read(q.reader, std::defer_lock);
  if (immediate) {
    // Our prefetched items are items of the queue too. A get() blocked in this process holds the
    // gate with an empty buffer; it wakes on the token below.
    if (read.try_lock()) dropped = q.discard_buffered();
  }
  auto& store = queue_store();
  store.eval(kShutdown, {q.key, q.rest, q.downwake, q.ref.key("unfinished"), q.ref.key("waiters")},
             {store.expiry_text(), immediate ? "1" : "0", std::to_string(dropped)});
  q.shut = true;
}

void QueueHandle::task_done() {
  auto& q = *local_;
  auto& store = queue_store();
  auto r =
      store.eval(kTaskDone, {q.ref.key("unfinished"), q.ref.key("waiters")}, {store.expiry_text()});
  if (r.integer < 0) throw ValueError("task_done() called too many times");
}

bool QueueHandle::join(Timeout timeout) {
  auto& q = *local_;
  q.flush();
  return wait_for_wake(queue_store(), q.ref, kJoinEnter, {q.ref.key("unfinished")}, timeout);
}

}  // namespace lithops::multiprocessing::detail
