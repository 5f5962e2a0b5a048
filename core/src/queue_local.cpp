#include <algorithm>
#include <cstdio>
#include <map>

#include "lithops/multiprocessing/errors.hpp"
#include "queue_internal.hpp"
#include "runtime.hpp"

namespace lithops::multiprocessing::detail {
namespace {
using Clock = std::chrono::steady_clock;

// Puts closer together than one and a half of the fastest inline send (a store round trip) are
// a burst and go through the background thread in batches; sparser ones are sent inline, which
// saves the hand-off (and a flush() waiting for it). A ping-pong puts at most once per two store
// round trips, so it stays inline; a producer loop is far below the floor. Before the first
// inline send is timed the gap is kFirstBurstGap.
constexpr Clock::duration kFirstBurstGap = std::chrono::microseconds(20);
constexpr Clock::duration kMinBurstGap = std::chrono::microseconds(5);
constexpr Clock::duration kMaxBurstGap = std::chrono::microseconds(50);
// Prefetched items unread for this long go back to the queue for other consumers.
constexpr auto kHold = std::chrono::milliseconds(50);
// Items per RPUSH command in a batch (a pipeline may carry several).
constexpr std::size_t kChunk = 1000;

std::mutex g_registry_mutex;
std::map<std::string, std::weak_ptr<QueueLocal>>& registry() {
  static auto* m = new std::map<std::string, std::weak_ptr<QueueLocal>>();
  return *m;
}
}  // namespace

Store& queue_store() {
  Runtime* rt = Runtime::current();
  if (!rt) throw OSError("the Lithops session has ended; its queues are gone");
  return rt->store();
}

QueueLocal::QueueLocal(ObjectRef r, QueueKind k, long long max)
    : ref(std::move(r)),
      kind(k),
      maxsize(max),
      key(ref.key()),
      rest(ref.key("rest")),
      downwake(ref.key("downwake")) {}

std::shared_ptr<QueueLocal> QueueLocal::find_or_add(ObjectRef ref, QueueKind kind, long long max) {
  std::lock_guard lock(g_registry_mutex);
  auto& slot = registry()[ref.key()];
  if (auto existing = slot.lock()) return existing;
  auto fresh = std::make_shared<QueueLocal>(std::move(ref), kind, max);
  slot = fresh;
  return fresh;
}

QueueLocal::~QueueLocal() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  try {
    // No handle is left, so nobody else reads from this buffer.
    give_back();
    if (error_) std::rethrow_exception(error_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lithops: queue %s: items may be lost: %s\n", key.c_str(), e.what());
  }
  std::lock_guard lock(g_registry_mutex);
  auto it = registry().find(key);
  if (it != registry().end() && it->second.expired()) registry().erase(it);
}

void QueueLocal::start_thread_locked() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void QueueLocal::enqueue(std::string item) {
  std::unique_lock lock(mu_);
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  const auto now = Clock::now();
  const auto burst_gap =
      fastest_send_ == Clock::duration::max()
          ? kFirstBurstGap
          : std::clamp(fastest_send_ + fastest_send_ / 2, kMinBurstGap, kMaxBurstGap);
  const bool sparse = now - last_put_ > burst_gap;
  last_put_ = now;
  ++queued_;
  if (sparse && !sending_ && pending_.empty()) {
    sending_ = true;
    lock.unlock();
    std::vector<std::string> one;
    one.push_back(std::move(item));
    std::exception_ptr failed;
    try {
      send(one);
    } catch (...) {
      failed = std::current_exception();
    }
    const auto took = Clock::now() - now;
    lock.lock();
    if (!failed) fastest_send_ = std::min(fastest_send_, took);
    sending_ = false;
    ++sent_;
    // Wake the sender thread or a flush() only when they have a reason: a condition variable's
    // waiter woken for nothing is a context switch per put (and the ping-pong's hidden cost).
    const bool queued_behind = !pending_.empty();
    const bool flushing = flush_waiters_ > 0;
    lock.unlock();
    if (queued_behind) work_cv_.notify_all();
    if (flushing) done_cv_.notify_all();
    if (failed) std::rethrow_exception(failed);
    return;
  }
  pending_.push_back(std::move(item));
  start_thread_locked();
  lock.unlock();
  work_cv_.notify_one();
}

void QueueLocal::flush() {
  std::unique_lock lock(mu_);
  const auto target = queued_;
  if (sent_ < target) {
    ++flush_waiters_;
    done_cv_.wait(lock, [&] { return sent_ >= target; });
    --flush_waiters_;
  }
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void QueueLocal::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (!pending_.empty() && !sending_) {
      std::vector<std::string> batch;
      batch.swap(pending_);
      const std::size_t n = batch.size();
      sending_ = true;
      lock.unlock();
      std::exception_ptr failed;
      try {
        send(batch);
      } catch (...) {
        failed = std::current_exception();
      }
      lock.lock();
      sending_ = false;
      sent_ += n;
      if (failed && !error_) error_ = failed;
      done_cv_.notify_all();
      continue;
    }
    if (stop_ && pending_.empty() && !sending_) return;
    if (!buffer_.empty() && !stop_) {
      const auto due = buffered_at_ + kHold;
      if (Clock::now() < due) {
        work_cv_.wait_until(lock, due);
        continue;
      }
      // Nobody read them in time. A get() in progress will read them: then leave them.
      lock.unlock();
      std::unique_lock read(reader, std::try_to_lock);
      lock.lock();
      if (!read.owns_lock()) {
        buffered_at_ = Clock::now();
        continue;
      }
      std::vector<std::string> items(std::make_move_iterator(buffer_.begin()),
                                     std::make_move_iterator(buffer_.end()));
      buffer_.clear();
      lock.unlock();
      try {
        give_back_items(items);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "lithops: queue %s: could not return prefetched items: %s\n",
                     key.c_str(), e.what());
      }
      read.unlock();
      lock.lock();
      continue;
    }
    work_cv_.wait(lock);
  }
}

void QueueLocal::send(std::vector<std::string>& items) {
  auto& store = queue_store();
  // RPUSH chunks and one EXPIRE in one round trip. No script: after a shutdown the items key is a
  // string, so the RPUSH fails as a whole (WRONGTYPE) instead of pushing.
  std::vector<sdk::Command> cmds;
  cmds.reserve(items.size() / kChunk + 2);
  for (std::size_t i = 0; i < items.size(); i += kChunk) {
    const std::size_t end = std::min(items.size(), i + kChunk);
    sdk::Command& push = cmds.emplace_back();
    push.reserve(2 + end - i);
    push.insert(push.end(), {"RPUSH", key});
    for (std::size_t j = i; j < end; ++j) push.push_back(std::move(items[j]));
  }
  const std::size_t pushes = cmds.size();
  cmds.push_back({"EXPIRE", key, store.expiry_text()});
  items.clear();
  const auto replies = store.pipeline(cmds);
  for (std::size_t i = 0; i < pushes; ++i) {
    if (!replies[i].is_error()) continue;
    if (replies[i].str.starts_with("WRONGTYPE")) {
      shut = true;
      throw ShutDown("queue " + key + " is shut down");
    }
    throw OSError("could not put to queue " + key + ": " + replies[i].str);
  }
}

std::size_t QueueLocal::discard_buffered() {
  std::lock_guard lock(mu_);
  const std::size_t n = buffer_.size();
  buffer_.clear();
  return n;
}

std::optional<std::string> QueueLocal::take_buffered() {
  std::lock_guard lock(mu_);
  if (buffer_.empty()) return std::nullopt;
  std::string v = std::move(buffer_.front());
  buffer_.pop_front();
  return v;
}

void QueueLocal::keep_buffered(std::vector<std::string> items) {
  if (items.empty()) return;
  bool was_empty = false;
  {
    std::lock_guard lock(mu_);
    was_empty = buffer_.empty();
    if (was_empty) buffered_at_ = Clock::now();
    for (auto& i : items) buffer_.push_back(std::move(i));
    start_thread_locked();
  }
  // The thread only needs to hear of a new hold deadline; a non-empty buffer already has one.
  if (was_empty) work_cv_.notify_one();
}

std::size_t QueueLocal::buffered() {
  std::lock_guard lock(mu_);
  return buffer_.size();
}

void QueueLocal::give_back() {
  std::vector<std::string> items;
  {
    std::lock_guard lock(mu_);
    items.assign(std::make_move_iterator(buffer_.begin()), std::make_move_iterator(buffer_.end()));
    buffer_.clear();
  }
  give_back_items(items);
}

void QueueLocal::give_back_items(std::vector<std::string>& items) {
  if (items.empty()) return;
  auto& store = queue_store();
  // LPUSH inserts one by one at the head: last first, so the head reads in the original order.
  sdk::Command lpush{"LPUSH", key};
  for (auto it = items.rbegin(); it != items.rend(); ++it) lpush.push_back(std::move(*it));
  std::vector<sdk::Command> cmds{std::move(lpush), {"EXPIRE", key, store.expiry_text()}};
  auto replies = store.pipeline(cmds);
  if (replies[0].is_error() && replies[0].str.starts_with("WRONGTYPE")) {
    // Shut down meanwhile: the items still belong to the queue, with those left at the shutdown.
    shut = true;
    cmds[0][1] = rest;
    cmds[1][1] = rest;
    replies = store.pipeline(cmds);
  }
  for (const auto& r : replies) {
    if (r.is_error()) throw OSError("could not return items to queue " + key + ": " + r.str);
  }
  items.clear();
}

}  // namespace lithops::multiprocessing::detail
