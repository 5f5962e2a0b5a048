// Internals of the driver side of Pool, shared by pool.cpp (map/apply) and imap.cpp (streams).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "execution_details.hpp"
#include "lithops/multiprocessing/pool.hpp"
#include "progress.hpp"
#include "runtime.hpp"

namespace lithops::multiprocessing::detail {
namespace json = boost::json;

// A Pool call whose chunks are in flight. The collector thread reports each chunk's outcome;
// the methods return true when the job is complete and can be forgotten.
class JobBase {
 public:
  virtual ~JobBase() = default;
  virtual bool chunk_done(std::size_t start, boost::json::array&& values) = 0;
  virtual bool chunk_failed(std::size_t start, std::exception_ptr error) = 0;
  // The pool is gone (terminated, store lost): nothing more will come.
  virtual void abort(std::exception_ptr error) = 0;
  std::string function;
  // The opt-in progress bar (lithops.progress, stderr a terminal); touched by the collector
  // thread only, and by the feeder's set_total (Progress locks itself).
  std::unique_ptr<Progress> progress;
};

// map / starmap / apply: all chunks, then one result (AsyncResult).
class Job : public JobBase {
 public:
  bool chunk_done(std::size_t start, boost::json::array&& values) override;
  bool chunk_failed(std::size_t start, std::exception_ptr error) override;
  void abort(std::exception_ptr error) override;
  void finish(std::exception_ptr error);

  mutable std::mutex mutex;
  std::condition_variable cv;
  boost::json::array results;
  std::size_t chunks_left = 0;
  bool done = false;
  bool finishing = false;  // the callback runs (or ran): a re-entrant abort() does nothing
  std::exception_ptr error;
  std::exception_ptr first_error;  // of a chunk, kept until every chunk has reported
  std::function<void(const boost::json::array&)> on_success;
  ErrorCallback on_error;
};

class PoolCore;
// Remembers a pool for terminate_live_pools() (process_internal.hpp).
void register_pool(const std::shared_ptr<PoolCore>& pool);

// Owned through std::shared_ptr (Pool, imap streams). The last reference may be released on the
// collector thread (a callback that drops the last Pool, an imap stream's job forgotten after its
// iterator is gone): the core then ends there, without joining or waiting for that thread, which
// touches nothing of it afterwards.
class PoolCore {
 public:
  explicit PoolCore(PoolOptions options);
  ~PoolCore();
  // Whether tasks were submitted and have not all completed (the destructor would cancel them).
  bool has_pending_work();

  std::shared_ptr<Job> submit(const std::string& function, json::array tasks, std::size_t chunksize,
                              std::function<void(const json::array&)> on_success,
                              ErrorCallback on_error);
  // Queues chunks of an existing job (streams); returns the job id to use. Throws if not running.
  unsigned long long register_job(std::shared_ptr<JobBase> job);
  void push_chunk(unsigned long long job_id, std::size_t start, const std::string& function,
                  boost::json::array args);
  void forget_job(unsigned long long job_id);
  void close();
  void join();
  void terminate();
  int processes() const { return processes_; }

 private:
  enum class State { kRun, kClose, kTerminate };
  struct WorkerRec {
    std::string name;
  };

  void spawn_worker();  // caller holds mutex_
  int max_early_losses() const { return std::max(4, 2 * processes_); }
  void push_stops(std::size_t n);
  void collect();
  bool collect_batch(std::vector<std::string>& records);  // false: stop collecting
  void handle(const json::object& record);
  void fail_all(const std::exception_ptr& error);  // caller does not hold mutex_
  void stop_collector();
  void record_chunk(const JobBase& job, const json::object& record);
  void export_details();
  void cleanup_keys();

  Runtime& rt_;
  Store& store_;
  PoolOptions options_;
  int processes_;
  std::string base_, tasks_key_, results_key_, alive_key_;
  std::string expiry_;

  std::mutex mutex_;
  std::condition_variable workers_cv_;
  State state_ = State::kRun;
  bool joined_ = false;
  std::map<std::string, WorkerRec> workers_;
  std::vector<std::string> stopped_;  // workers that exited normally (to wait_released in join)
  std::map<unsigned long long, std::shared_ptr<JobBase>> jobs_;
  unsigned long long next_job_ = 0;
  int worker_counter_ = 0;
  // Workers lost in a row without running a task (reset by any chunk result): past a bound the
  // pool is broken instead of respawning without end (a worker that cannot start at all).
  int early_losses_ = 0;
  std::exception_ptr broken_;

  std::optional<std::string> export_dir_;  // EXPORT_EXECUTION_DETAILS
  std::mutex records_mutex_;
  std::vector<InvocationRecord> records_;

  std::atomic<bool> stopping_{false};
  std::thread collector_;
};

}  // namespace lithops::multiprocessing::detail
