// Pool.imap / imap_unordered: streams with bounded driver memory.
//
// A feeder thread pulls arguments from the caller's range chunk by chunk and queues a chunk only
// while fewer than `window` chunks are in flight (queued, running, or returned but not yet consumed
// by next()). So the driver holds at most window x chunksize arguments and results, however long
// the input: a 10-million-item generator streams through in constant memory.
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <boost/json.hpp>

#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/pool.hpp"
#include "pool_core.hpp"

namespace lithops::multiprocessing::detail {

class StreamJob : public JobBase {
 public:
  StreamJob(std::shared_ptr<PoolCore> core, std::string fn, ArgSource source, std::size_t chunksize,
            bool ordered)
      : core_(std::move(core)),
        source_(std::move(source)),
        chunksize_(chunksize == 0 ? 1 : chunksize),
        ordered_(ordered),
        window_(static_cast<std::size_t>(std::max(4, core_->processes() * 4))) {
    function = std::move(fn);
    progress = Progress::maybe(Runtime::get().config(), 0, function);
  }

  void start(std::shared_ptr<StreamJob> self) {
    id_ = core_->register_job(self);
    feeder_ = std::thread([this] { feed(); });
  }

  ~StreamJob() override { stop(); }

  bool chunk_done(std::size_t start, json::array&& values) override {
    if (progress) progress->advance(values.size());
    return arrive(Chunk{start, std::move(values), nullptr});
  }
  bool chunk_failed(std::size_t start, std::exception_ptr error) override {
    return arrive(Chunk{start, {}, std::move(error)});
  }
  void abort(std::exception_ptr error) override {
    {
      std::lock_guard lock(mutex_);
      if (!aborted_) aborted_ = std::move(error);
    }
    cv_.notify_all();
  }

  std::optional<json::value> next(Timeout timeout) {
    std::unique_lock lock(mutex_);
    const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                  : std::chrono::steady_clock::time_point::max();
    for (;;) {
      if (current_) {
        if (current_->error) {
          auto e = current_->error;
          release_current();
          std::rethrow_exception(e);
        }
        if (pos_ < current_->values.size()) {
          json::value v = std::move(current_->values[pos_++]);
          if (pos_ == current_->values.size()) release_current();
          return v;
        }
        release_current();  // an empty result chunk cannot happen, but never spin on one
        continue;
      }
      if (take_next_chunk()) continue;
      if (aborted_) std::rethrow_exception(aborted_);
      if (input_done_ && consumed_ == submitted_) {
        if (input_error_) {
          auto e = input_error_;
          input_error_ = nullptr;  // raised once, at its place in the stream
          std::rethrow_exception(e);
        }
        return std::nullopt;
      }
      if (timeout) {
        if (cv_.wait_until(lock, deadline) == std::cv_status::timeout &&
            std::chrono::steady_clock::now() >= deadline) {
          throw TimeoutError("the next imap result was not ready within the timeout");
        }
      } else {
        cv_.wait(lock);
      }
    }
  }

  // The consumer is gone: stop feeding; chunks in flight are dropped when they return.
  void stop() {
    bool all_back;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      input_done_ = true;  // nothing more will be queued
      all_back = returned_ == submitted_;
    }
    cv_.notify_all();
    if (feeder_.joinable()) {
      // The feeder itself may drop the last reference (forget_job); it touches nothing after.
      if (feeder_.get_id() == std::this_thread::get_id()) {
        feeder_.detach();
      } else {
        feeder_.join();
      }
    }
    if (all_back && id_ != 0) core_->forget_job(id_);
  }

 private:
  struct Chunk {
    std::size_t start;
    json::array values;
    std::exception_ptr error;
  };

  void feed() {
    std::size_t start = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || aborted_ || in_flight_ < window_; });
        if (stopping_ || aborted_) break;
      }
      json::array args;
      bool ended = false;
      std::exception_ptr error;
      try {
        while (args.size() < chunksize_) {
          auto a = source_();
          if (!a) {
            ended = true;
            break;
          }
          args.push_back(std::move(*a));
        }
      } catch (...) {
        // PO-09/PO-13: the input's own exception, in its place; as in CPython the chunk it
        // interrupted is not run, so the results before that chunk come first.
        error = std::current_exception();
        ended = true;
        args.clear();
      }
      if (!args.empty()) {
        const std::size_t n = args.size();
        {
          std::lock_guard lock(mutex_);
          ++in_flight_;
          ++submitted_;
        }
        try {
          core_->push_chunk(id_, start, function, std::move(args));
        } catch (...) {
          abort(std::current_exception());
          break;
        }
        start += n;
      }
      if (ended) {
        if (progress) progress->set_total(start);
        {
          std::lock_guard lock(mutex_);
          input_done_ = true;
          input_error_ = error;
        }
        cv_.notify_all();
        bool finished;
        {
          std::lock_guard lock(mutex_);
          finished = returned_ == submitted_;
        }
        if (finished) core_->forget_job(id_);
        break;
      }
    }
  }

  bool arrive(Chunk chunk) {
    bool finished;
    {
      std::lock_guard lock(mutex_);
      ++returned_;
      if (!stopping_) {
        if (ordered_) {
          arrived_.emplace(chunk.start, std::move(chunk));
        } else {
          completed_.push_back(std::move(chunk));
        }
      } else {
        --in_flight_;
        ++consumed_;
      }
      finished = input_done_ && returned_ == submitted_;
    }
    cv_.notify_all();
    return finished;
  }

  // Caller holds mutex_.
  bool take_next_chunk() {
    if (ordered_) {
      auto it = arrived_.find(next_start_);
      if (it == arrived_.end()) return false;
      current_ = std::move(it->second);
      arrived_.erase(it);
    } else {
      if (completed_.empty()) return false;
      current_ = std::move(completed_.front());
      completed_.pop_front();
    }
    pos_ = 0;
    return true;
  }

  // Caller holds mutex_. The chunk is fully consumed: its slot in the window frees up.
  void release_current() {
    if (ordered_) {
      // The next chunk starts where this one's tasks ended; a failed chunk's length is unknown
      // from its outcome, so chunk lengths are fixed: every chunk but the last has chunksize.
      next_start_ = current_->start + chunksize_;
    }
    current_.reset();
    --in_flight_;
    ++consumed_;
    cv_.notify_all();
  }

  std::shared_ptr<PoolCore> core_;
  ArgSource source_;
  std::size_t chunksize_;
  bool ordered_;
  std::size_t window_;
  unsigned long long id_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::size_t, Chunk> arrived_;  // ordered: by first task index
  std::deque<Chunk> completed_;           // unordered: completion order
  std::optional<Chunk> current_;
  std::size_t pos_ = 0;
  std::size_t next_start_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t submitted_ = 0, returned_ = 0, consumed_ = 0;
  bool input_done_ = false;
  bool stopping_ = false;
  std::exception_ptr input_error_;
  std::exception_ptr aborted_;
  std::thread feeder_;
};

std::shared_ptr<StreamJob> start_stream(const std::shared_ptr<PoolCore>& core,
                                        const std::string& function, ArgSource source,
                                        std::size_t chunksize, bool ordered) {
  auto job = std::make_shared<StreamJob>(core, function, std::move(source), chunksize, ordered);
  job->start(job);
  return job;
}

std::optional<json::value> stream_next(StreamJob& job, Timeout timeout) {
  return job.next(timeout);
}

void stream_close(StreamJob& job) { job.stop(); }

}  // namespace lithops::multiprocessing::detail
