// The process-local side of a queue: pending puts and their background sender (CPython's feeder
// thread), prefetched items, the closed flag. One per queue per process, shared by all its handles.
//
// Redis layout of a queue with base key B (all keys share B's hash tag and carry
// REDIS_EXPIRY_TIME, refreshed by every write):
//   B              LIST   the items, serialised JSON, head = next to get. shutdown() moves what is
//                         left to B:rest and turns B into a STRING: from then on a list command
//                         on B fails with WRONGTYPE, atomically. That is how a plain put (RPUSH +
//                         EXPIRE, pipelined, no script) and a get see that the queue is shut down.
//   B:rest         LIST   the items left at a (non-immediate) shutdown; get() still serves them
//   B:putters      STRING producers registered as waiting for room (bounded queues)
//   B:space        LIST   wake tokens for those producers, one per freed slot, at most B:putters
//   B:unfinished   STRING JoinableQueue's unfinished-task count
//   B:waiters      SET    join() waiters' wake lists B:w:<id> (see event_internal.hpp)
//   B:downwake     LIST   one token from shutdown(); blocked getters and producers BLPOP it with
//                         their own list, and push it back when they take it (wakes everyone)
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lithops/multiprocessing/queue.hpp"
#include "lithops/multiprocessing/shared_object.hpp"
#include "store.hpp"

namespace lithops::multiprocessing::detail {

// The session's store; mp::OSError once the session has ended.
Store& queue_store();

// A TimedLockable for one reader at a time. Not std::timed_mutex: gcc 12's try_lock_until uses
// pthread_mutex_clocklock, which ThreadSanitizer does not see, so it reports bogus unlock errors.
class ReaderGate {
 public:
  void lock() {
    std::unique_lock l(m_);
    cv_.wait(l, [&] { return !held_; });
    held_ = true;
  }
  bool try_lock() {
    std::lock_guard l(m_);
    return !std::exchange(held_, true);
  }
  bool try_lock_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock l(m_);
    if (!cv_.wait_until(l, deadline, [&] { return !held_; })) return false;
    held_ = true;
    return true;
  }
  void unlock() {
    {
      std::lock_guard l(m_);
      held_ = false;
    }
    cv_.notify_one();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool held_ = false;
};

struct QueueLocal {
  QueueLocal(ObjectRef r, QueueKind k, long long max);
  // Sends pending puts and gives prefetched items back (errors are printed, not thrown).
  ~QueueLocal();
  QueueLocal(const QueueLocal&) = delete;
  QueueLocal& operator=(const QueueLocal&) = delete;

  // The one QueueLocal of the queue `ref` names in this process (created on first use).
  static std::shared_ptr<QueueLocal> find_or_add(ObjectRef ref, QueueKind kind, long long max);

  bool bounded() const { return maxsize > 0; }
  // Puts go through the feeder (unbounded, not joinable).
  bool batched() const { return !bounded() && kind != QueueKind::kJoinable; }

  // Feeder: queues an item; it is sent inline when the feeder is idle and puts are sparse (no
  // batching gain, and one thread hand-off less latency), else by the background thread.
  void enqueue(std::string item);
  // Waits until every item enqueued so far is in the store; rethrows a failed send.
  void flush();

  // Prefetch buffer (callers hold `reader`).
  std::optional<std::string> take_buffered();
  void keep_buffered(std::vector<std::string> items);
  std::size_t buffered();
  // Returns prefetched items to the head of the list (of B:rest once shut down; caller holds
  // `reader`).
  void give_back();
  // Drops the prefetched items; returns how many (caller holds `reader`).
  std::size_t discard_buffered();

  const ObjectRef ref;
  const QueueKind kind;
  const long long maxsize;
  const std::string key;  // ref.key(), the items list

  // Held for a whole get(), like CPython's _rlock: one reader at a time per process.
  ReaderGate reader;
  int prefetch = 1;  // next multi-pop size (under `reader`); grows while a backlog lasts
  std::atomic<bool> closed{false};
  std::atomic<bool> used{false};     // a put was made (QU-09: close() then makes empty() raise)
  std::atomic<bool> shut{false};     // this process saw the queue shut down (never unset)
  const std::string rest, downwake;  // ref.key("rest"), ref.key("downwake")

 private:
  void run();
  void start_thread_locked();
  void send(std::vector<std::string>& items);
  void give_back_items(std::vector<std::string>& items);

  std::mutex mu_;
  std::condition_variable work_cv_;  // the background thread waits here
  std::condition_variable done_cv_;  // flush() waits here
  std::vector<std::string> pending_;
  bool sending_ = false;
  unsigned long long queued_ = 0, sent_ = 0;
  int flush_waiters_ = 0;  // threads waiting in flush()
  std::exception_ptr error_;
  std::chrono::steady_clock::time_point last_put_{};
  // The quickest inline send so far: one store round trip, the yardstick for "a burst of puts".
  std::chrono::steady_clock::duration fastest_send_ = std::chrono::steady_clock::duration::max();
  std::deque<std::string> buffer_;
  std::chrono::steady_clock::time_point buffered_at_{};
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace lithops::multiprocessing::detail
