#include <cstdio>
#include <map>

#include "lithops/multiprocessing/errors.hpp"
#include "queue_internal.hpp"
#include "runtime.hpp"

namespace lithops::multiprocessing::detail {
namespace {
using Clock = std::chrono::steady_clock;

// Puts closer together than this are batched; sparser ones are sent inline, which saves the
// hand-off to the background thread (a ping-pong puts once per round trip, ~2 PINGs apart).
constexpr auto kBurstGap = std::chrono::microseconds(50);
// Prefetched items unread for this long go back to the queue for other consumers.
constexpr auto kHold = std::chrono::milliseconds(50);
// Items per RPUSH command in a batch (a pipeline may carry several).
constexpr std::size_t kChunk = 1000;

// KEYS: items, down. ARGV: ttl, item... Returns -1 (nothing pushed) after shutdown, else 1.
const Script kSendBatch{R"lua(
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
)lua"};

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
      down(ref.key("down")),
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
  const bool sparse = now - last_put_ > kBurstGap;
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
    lock.lock();
    sending_ = false;
    ++sent_;
    lock.unlock();
    work_cv_.notify_all();  // others may have queued behind the inline send
    done_cv_.notify_all();
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
  done_cv_.wait(lock, [&] { return sent_ >= target; });
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
  const std::string ttl = store.expiry_text();
  const std::string_view keys[] = {key, down};
  std::vector<std::string_view> args;
  for (std::size_t i = 0; i < items.size(); i += kChunk) {
    const std::size_t end = std::min(items.size(), i + kChunk);
    args.assign({ttl});
    for (std::size_t j = i; j < end; ++j) args.push_back(items[j]);
    // The shutdown check and the TTL ride in the same round trip as the push.
    if (store.eval(kSendBatch, keys, args).integer < 0) {
      shut = true;
      items.clear();
      throw ShutDown("queue " + key + " is shut down");
    }
  }
  items.clear();
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
  {
    std::lock_guard lock(mu_);
    if (buffer_.empty()) buffered_at_ = Clock::now();
    for (auto& i : items) buffer_.push_back(std::move(i));
    start_thread_locked();
  }
  work_cv_.notify_one();
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
  for (const auto& r : store.pipeline(cmds)) {
    if (r.is_error()) throw OSError("could not return items to queue " + key + ": " + r.str);
  }
  items.clear();
}

}  // namespace lithops::multiprocessing::detail
