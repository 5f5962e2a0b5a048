#include <csignal>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include <boost/core/demangle.hpp>
#include <boost/json.hpp>

#include "config_internal.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/pool.hpp"
#include "pool_core.hpp"
#include "pool_internal.hpp"
#include "process_internal.hpp"
#include "remote_error.hpp"
#include "runtime.hpp"

namespace lithops::multiprocessing {
namespace json = boost::json;

namespace detail {

void Job::finish(std::exception_ptr err) {
  {
    std::lock_guard lock(mutex);
    if (done || finishing) return;
    finishing = true;
  }
  // As in CPython, the callback runs before waiters wake, so after get()/wait() it has happened.
  try {
    if (err && on_error) on_error(err);
    if (!err && on_success) on_success(results);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lithops: a Pool callback threw: %s\n", e.what());
  }
  if (progress) progress->finish();  // the bar's final state, before anyone waiting wakes
  {
    std::lock_guard lock(mutex);
    done = true;
    error = err;
  }
  cv.notify_all();
}

bool Job::chunk_done(std::size_t start, json::array&& values) {
  if (progress) progress->advance(values.size());
  std::exception_ptr err;
  {
    std::lock_guard lock(mutex);
    for (auto& v : values) results[start++] = std::move(v);
    if (--chunks_left != 0) return false;
    err = first_error;
  }
  finish(err);
  return true;
}

bool Job::chunk_failed(std::size_t, std::exception_ptr err) {
  // As CPython (PO-22): keep the first failure, but the call is ready only once every chunk
  // has reported, so nothing of it still runs when get() raises.
  {
    std::lock_guard lock(mutex);
    if (!first_error) first_error = err;
    if (--chunks_left != 0) return false;
  }
  finish(first_error);
  return true;
}

void Job::abort(std::exception_ptr err) { finish(err); }

bool job_wait(Job& job, Timeout timeout) {
  std::unique_lock lock(job.mutex);
  if (!timeout) {
    job.cv.wait(lock, [&] { return job.done; });
    return true;
  }
  return job.cv.wait_for(lock, *timeout, [&] { return job.done; });
}

bool job_ready(const Job& job) {
  std::lock_guard lock(job.mutex);
  return job.done;
}

bool job_successful(const Job& job) {
  std::lock_guard lock(job.mutex);
  if (!job.done) throw ValueError("the result is not ready");
  return !job.error;
}

const json::array& job_results(const Job& job) {
  std::lock_guard lock(job.mutex);
  if (job.error) std::rethrow_exception(job.error);
  return job.results;
}

void throw_result_timeout() { throw TimeoutError("the result was not ready within the timeout"); }

void throw_type_mismatch(const char* type, const char* what) {
  throw TypeError("a result does not convert to " + boost::core::demangle(type) + ": " + what);
}

namespace {
// Every Pool made, for terminate_live_pools(). Weak: a pool may end in any thread at any time
// (an imap stream may hold the last reference); the lock only guards the list.
std::mutex g_pools_mutex;
std::vector<std::weak_ptr<PoolCore>>& live_pools() {
  static auto* pools = new std::vector<std::weak_ptr<PoolCore>>();  // leaked: used at exit
  return *pools;
}
}  // namespace

void register_pool(const std::shared_ptr<PoolCore>& pool) {
  std::lock_guard lock(g_pools_mutex);
  std::erase_if(live_pools(), [](const auto& w) { return w.expired(); });
  live_pools().push_back(pool);
}

void terminate_live_pools() {
  std::vector<std::weak_ptr<PoolCore>> pools;
  {
    std::lock_guard lock(g_pools_mutex);
    pools.swap(live_pools());
  }
  for (const auto& weak : pools) {
    auto pool = weak.lock();  // keeps it alive while it terminates
    if (!pool) continue;
    try {
      pool->terminate();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: while terminating a Pool at exit: %s\n", e.what());
    }
  }
}

namespace {
// Set on a collector thread whose own PoolCore was destroyed by it (the last reference was released
// there): that thread must not touch the core again.
thread_local bool t_collector_outlived_its_core = false;
}  // namespace

PoolCore::~PoolCore() {
  terminate();
  if (!collector_.joinable()) return;
  if (collector_.get_id() == std::this_thread::get_id()) {
    collector_.detach();
    t_collector_outlived_its_core = true;
  } else {
    collector_.join();  // terminate() ran earlier on the collector thread, which did not join
  }
}

PoolCore::PoolCore(PoolOptions options)
    : rt_(Runtime::get()), store_(rt_.store()), options_(std::move(options)) {
  processes_ = options_.processes.value_or(0);
  if (!options_.processes) {
    auto* l = rt_.config().if_contains("lithops");
    auto* w = l && l->is_object() ? l->as_object().if_contains("workers") : nullptr;
    processes_ = w && w->is_int64() ? static_cast<int>(w->as_int64()) : cpu_count();
  }
  if (processes_ < 1) throw ValueError("Number of processes must be at least 1");
  if (options_.maxtasksperchild && *options_.maxtasksperchild < 1) {
    throw ValueError("maxtasksperchild must be a positive int or unset");
  }
  base_ = rt_.prefix() + "pool:" + rt_.new_id() + ":";
  tasks_key_ = base_ + "tasks";
  results_key_ = base_ + "results";
  alive_key_ = base_ + "alive";
  expiry_ = store_.expiry_text();
  export_dir_ = parameters().export_execution_details;
  store_.run({"SET", alive_key_, "1", "EX", expiry_});
  collector_ = std::thread([this] { collect(); });
  try {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < processes_; ++i) spawn_worker();
  } catch (...) {
    // As CPython (PO-33): the workers already started are stopped and waited for, then the
    // error that stopped the start propagates.
    try {
      terminate();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: while stopping a Pool that failed to start: %s\n", e.what());
    }
    throw;
  }
}

bool PoolCore::has_pending_work() {
  std::lock_guard lock(mutex_);
  if (state_ == State::kTerminate || joined_) return false;
  for (const auto& [id, job] : jobs_) {
    // A finished job may still be listed for a moment after its waiters woke.
    const auto* j = dynamic_cast<const Job*>(job.get());
    if (j == nullptr || !job_ready(*j)) return true;
  }
  return false;
}

void PoolCore::spawn_worker() {
  const std::string id = rt_.new_id();
  const std::string name = "PoolWorker-" + std::to_string(++worker_counter_);
  json::object pool{{"tasks", tasks_key_},
                    {"results", results_key_},
                    {"wip", base_ + "wip:" + id},
                    {"alive", alive_key_},
                    {"initializer", options_.initializer.name},
                    {"initargs", options_.initargs},
                    {"maxtasks", options_.maxtasksperchild.value_or(0)}};
  json::object payload{
      {"kind", "pool_worker"},
      {"context", rt_.worker_context()},
      {"id", id},
      {"self", to_json(ProcessInfo{name, std::nullopt, true, id, current_process().authkey})},
      {"parent", to_json(current_process())},
      {"env", parameters().env_vars},
      {"pool", std::move(pool)}};
  if (parameters().stream_stdout) payload["stream"] = rt_.output_channel();
  Store* store = &store_;
  const std::string results = results_key_;
  rt_.watch(id, [store, results, id](int status, const std::string& reason) {
    store->run(
        {"RPUSH", results,
         json::serialize(json::object{{"lost", id}, {"status", status}, {"reason", reason}})});
  });
  workers_[id] = WorkerRec{name};
  try {
    rt_.invoke(id, json::serialize(payload));
  } catch (...) {
    workers_.erase(id);
    rt_.unwatch(id);
    throw;
  }
}

void PoolCore::push_stops(std::size_t n) {
  if (n == 0) return;
  std::vector<std::string_view> args{"RPUSH", tasks_key_};
  for (std::size_t i = 0; i < n; ++i) args.push_back(kStopSentinel);
  store_.run(args);
}

std::shared_ptr<Job> PoolCore::submit(const std::string& function, json::array tasks,
                                      std::size_t chunksize,
                                      std::function<void(const json::array&)> on_success,
                                      ErrorCallback on_error) {
  auto job = std::make_shared<Job>();
  job->function = function;
  job->on_success = std::move(on_success);
  job->on_error = std::move(on_error);
  const std::size_t n = tasks.size();
  job->results.resize(n);
  std::lock_guard lock(mutex_);
  if (state_ != State::kRun) throw ValueError("Pool not running");  // even for an empty map
  if (n == 0) {
    job->done = true;  // as CPython: an empty map is ready at once, no callback
    return job;
  }
  if (broken_) std::rethrow_exception(broken_);
  if (n > 1) job->progress = Progress::maybe(rt_.config(), n, function);  // the map family
  if (chunksize == 0) {
    const std::size_t per = static_cast<std::size_t>(processes_) * 4;
    chunksize = n / per + (n % per ? 1 : 0);
  }
  const auto jid = ++next_job_;
  std::vector<std::string> messages;
  // (map: every chunk is queued at once; imap streams them through push_chunk)
  for (std::size_t start = 0; start < n; start += chunksize) {
    json::array chunk;
    for (std::size_t i = start; i < std::min(n, start + chunksize); ++i) {
      chunk.push_back(std::move(tasks[i]));
    }
    messages.push_back(json::serialize(json::object{{"job", jid},
                                                    {"start", start},
                                                    {"submitted", now_us()},
                                                    {"function", function},
                                                    {"args", std::move(chunk)}}));
  }
  job->chunks_left = messages.size();
  jobs_[jid] = job;
  std::vector<sdk::Command> cmds(2);
  cmds[0].reserve(messages.size() + 2);
  cmds[0].push_back("RPUSH");
  cmds[0].push_back(tasks_key_);
  for (auto& m : messages) cmds[0].push_back(std::move(m));
  cmds[1] = {"EXPIRE", tasks_key_, expiry_};
  for (const auto& r : store_.pipeline(cmds)) {
    if (r.is_error()) {
      jobs_.erase(jid);
      throw OSError("could not queue the Pool tasks: " + r.str);
    }
  }
  return job;
}

void PoolCore::collect() {
  std::vector<std::string> records;
  while (collect_batch(records)) {
  }
}

bool PoolCore::collect_batch(std::vector<std::string>& records) {
  if (stopping_) return false;
  records.clear();
  try {
    // Wait for one record, then take whatever else is there in the same breath: one round
    // trip per batch rather than per chunk when results pour in.
    auto first = store_.blpop(results_key_, std::chrono::seconds(1));
    if (!first) return true;
    records.push_back(std::move(*first));
    auto more = store_.run({"LPOP", results_key_, "256"});
    for (auto& e : more.elements) records.push_back(std::move(e.str));
  } catch (const std::exception& e) {
    // The store is gone: nothing will report any more, so fail what waits instead of hanging.
    fail_all(
        std::make_exception_ptr(OSError(std::string("Pool lost its state store: ") + e.what())));
    return false;
  }
  for (const auto& record : records) {
    try {
      handle(json::parse(record).as_object());
    } catch (const std::exception& e) {
      if (t_collector_outlived_its_core) return false;
      std::fprintf(stderr, "lithops: Pool ignored a malformed record: %s\n", e.what());
    }
    if (t_collector_outlived_its_core) return false;  // `this` is gone
  }
  return true;
}

namespace {
std::string_view reason_of(const json::object& exit_record) {
  auto* r = exit_record.if_contains("reason");
  return r && r->is_string() ? std::string_view(r->as_string()) : std::string_view();
}
}  // namespace

void PoolCore::handle(const json::object& r) {
  if (auto* jid = r.if_contains("job")) {
    const auto job_id = jid->to_number<unsigned long long>();
    std::shared_ptr<JobBase> job;
    {
      std::lock_guard lock(mutex_);
      auto it = jobs_.find(job_id);
      if (it == jobs_.end()) return;  // already completed or failed
      job = it->second;
    }
    {
      std::lock_guard lock(mutex_);
      early_losses_ = 0;  // workers do run tasks
    }
    const auto start = r.at("start").to_number<std::size_t>();
    if (export_dir_) record_chunk(*job, r);
    bool complete;
    if (auto* err = r.if_contains("error")) {
      complete = job->chunk_failed(start, make_exception(error_from_json(err->as_object())));
    } else {
      json::array values = std::move(const_cast<json::object&>(r).at("ok").as_array());
      complete = job->chunk_done(start, std::move(values));
    }
    if (t_collector_outlived_its_core) return;  // its callback released the last reference
    if (complete) forget_job(job_id);
    return;  // releasing `job` may release the last reference (an imap stream's)
  }
  if (auto* id = r.if_contains("exit")) {
    const std::string wid(id->as_string());
    rt_.unwatch(wid);
    std::exception_ptr init_error;
    if (auto* e = r.if_contains("init_error")) {
      init_error = make_exception(error_from_json(e->as_object()));
    }
    {
      std::lock_guard lock(mutex_);
      if (workers_.erase(wid) == 0) return;  // its loss was handled first
      if (reason_of(r) == "stop") stopped_.push_back(wid);
      if (init_error) {
        broken_ = init_error;
      } else if (reason_of(r) == "maxtasks" &&
                 (state_ == State::kRun || (state_ == State::kClose && !jobs_.empty()))) {
        // maxtasksperchild reached: replace it. After close() too while work is left, or the
        // queued tasks would never run (a STOP is still queued for the replacement).
        spawn_worker();
      }
    }
    if (init_error) fail_all(init_error);
    if (t_collector_outlived_its_core) return;
    workers_cv_.notify_all();
    return;
  }
  if (auto* id = r.if_contains("lost")) {
    const std::string wid(id->as_string());
    {
      std::lock_guard lock(mutex_);
      if (!workers_.contains(wid)) return;  // it had already reported its exit
    }
    const std::string reason(r.at("reason").as_string());
    const std::string wip = base_ + "wip:" + wid;
    auto running = store_.run({"LRANGE", wip, "0", "-1"});
    store_.run({"DEL", wip});
    bool ran_a_task = false;
    for (const auto& m : running.elements) {
      ran_a_task = ran_a_task || (m.str != kStopSentinel && m.str != kWipMarker);
    }
    for (const auto& m : running.elements) {
      if (m.str == kStopSentinel || m.str == kWipMarker) continue;
      auto task = json::parse(m.str).as_object();
      auto jid = task.at("job").to_number<unsigned long long>();
      std::shared_ptr<JobBase> job;
      {
        std::lock_guard lock(mutex_);
        auto it = jobs_.find(jid);
        if (it == jobs_.end()) continue;
        job = it->second;
      }
      const auto start = task.at("start").to_number<std::size_t>();
      const bool complete = job->chunk_failed(
          start, std::make_exception_ptr(ProcessError("task " + std::to_string(start) +
                                                      " of a Pool call of '" + job->function +
                                                      "' was lost: " + reason)));
      if (t_collector_outlived_its_core) return;
      if (complete) forget_job(jid);
      job.reset();  // may release the last reference (an imap stream's)
      if (t_collector_outlived_its_core) return;
    }
    std::exception_ptr gave_up;
    {
      std::lock_guard lock(mutex_);
      workers_.erase(wid);
      if (state_ != State::kTerminate) early_losses_ = ran_a_task ? 0 : early_losses_ + 1;
      const bool pending = !jobs_.empty();
      if (early_losses_ >= max_early_losses() && !broken_) {
        // CPython's Pool cannot start workers that die at once either; here that would be an
        // endless respawn (a worker program that never reaches mp::init, a plugin whose worker
        // side fails): give up with the last loss's reason instead.
        broken_ = std::make_exception_ptr(ProcessError(
            "Pool workers keep dying before they run a task: " + std::to_string(early_losses_) +
            " in a row were lost, the last one because " + reason +
            ". The pool stops replacing them; check the workers' stderr, that main() calls "
            "mp::init(argc, argv) first, and that the executor plugin starts its workers with "
            "lithops::sdk::worker_environment()"));
        gave_up = broken_;
      } else if (!broken_ && (state_ == State::kRun || (state_ == State::kClose && pending))) {
        spawn_worker();
        if (state_ == State::kClose) push_stops(1);
      }
    }
    if (gave_up) fail_all(gave_up);
    if (t_collector_outlived_its_core) return;
    workers_cv_.notify_all();
  }
}

void PoolCore::fail_all(const std::exception_ptr& error) {
  std::map<unsigned long long, std::shared_ptr<JobBase>> jobs;
  {
    std::lock_guard lock(mutex_);
    jobs.swap(jobs_);
  }
  for (auto& [id, job] : jobs) job->abort(error);
  if (!t_collector_outlived_its_core) workers_cv_.notify_all();
  // `jobs` goes last: it may hold the last reference (an imap stream's); after a callback released
  // it, `this` is gone already.
}

unsigned long long PoolCore::register_job(std::shared_ptr<JobBase> job) {
  std::lock_guard lock(mutex_);
  if (state_ != State::kRun) throw ValueError("Pool not running");
  if (broken_) std::rethrow_exception(broken_);
  const auto jid = ++next_job_;
  jobs_[jid] = std::move(job);
  return jid;
}

void PoolCore::push_chunk(unsigned long long job_id, std::size_t start, const std::string& function,
                          json::array args) {
  const std::string message = json::serialize(json::object{{"job", job_id},
                                                           {"start", start},
                                                           {"submitted", now_us()},
                                                           {"function", function},
                                                           {"args", std::move(args)}});
  std::vector<sdk::Command> cmds{{"RPUSH", tasks_key_, message}, {"EXPIRE", tasks_key_, expiry_}};
  for (const auto& r : store_.pipeline(cmds)) {
    if (r.is_error()) throw OSError("could not queue a Pool task: " + r.str);
  }
}

void PoolCore::forget_job(unsigned long long job_id) {
  {
    std::lock_guard lock(mutex_);
    jobs_.erase(job_id);
  }
  workers_cv_.notify_all();
}

void PoolCore::close() {
  std::lock_guard lock(mutex_);
  if (state_ != State::kRun) return;
  state_ = State::kClose;
  push_stops(workers_.size());
}

void PoolCore::join() {
  {
    std::unique_lock lock(mutex_);
    if (state_ == State::kRun)
      throw ValueError("Pool is still running; call close() or terminate() first");
    if (joined_) return;
    if (collector_.get_id() == std::this_thread::get_id()) {
      // Workers' exits are read by this very thread: waiting here would never end.
      throw Error(
          "Pool.join() cannot be called from a callback of that pool (it would wait for "
          "its own collector thread); call it from another thread, or use terminate()");
    }
    workers_cv_.wait(lock, [&] { return workers_.empty(); });
    joined_ = true;
  }
  // A worker reports its exit just before it tells the backend it is free: wait for that too
  // (briefly), so a Pool or Process started right after join() finds these workers warm.
  std::vector<std::string> stopped;
  {
    std::lock_guard lock(mutex_);
    stopped.swap(stopped_);
  }
  for (const auto& id : stopped) rt_.executor().wait_released(id, std::chrono::seconds(2));
  stop_collector();
  cleanup_keys();
  export_details();
  rt_.sync_output();
}

void PoolCore::terminate() {
  std::vector<std::string> busy;
  {
    std::unique_lock lock(mutex_);
    if (joined_) return;
    const bool idle = jobs_.empty();
    state_ = State::kTerminate;
    if (idle) {
      // Nothing running: let the workers finish their loop and go back to the backend warm.
      push_stops(workers_.size());
    } else {
      for (const auto& [id, w] : workers_) busy.push_back(id);
    }
  }
  for (const auto& id : busy) rt_.executor().cancel(id, SIGTERM);
  fail_all(std::make_exception_ptr(ProcessError("the Pool was terminated")));
  const bool on_collector = collector_.get_id() == std::this_thread::get_id();
  {
    std::unique_lock lock(mutex_);
    if (on_collector) {
      // Called from a callback: workers' exit records are read by this very thread, so nobody
      // would empty workers_ while it waited. Busy workers got SIGTERM, idle ones a stop.
      for (const auto& [id, w] : workers_) rt_.unwatch(id);
      workers_.clear();
    } else if (!workers_cv_.wait_for(lock, std::chrono::seconds(5),
                                     [&] { return workers_.empty(); })) {
      for (const auto& [id, w] : workers_) rt_.executor().cancel(id, SIGKILL);
      workers_cv_.wait_for(lock, std::chrono::seconds(5), [&] { return workers_.empty(); });
      for (const auto& [id, w] : workers_) rt_.unwatch(id);
      workers_.clear();
    }
    joined_ = true;
  }
  stop_collector();
  cleanup_keys();
  export_details();
}

void PoolCore::record_chunk(const JobBase& job, const json::object& r) {
  InvocationRecord rec;
  rec.kind = "pool_task";
  const auto start = r.at("start").to_number<std::size_t>();
  std::size_t n = 1;
  if (auto* ok = r.if_contains("ok")) n = ok->as_array().size();
  rec.name = job.function + "[" + std::to_string(start) + ".." + std::to_string(start + n) + ")";
  rec.worker = r.at("worker").as_string();
  rec.submitted = r.at("submitted").to_number<std::int64_t>();
  rec.delivered = r.at("delivered").to_number<std::int64_t>();
  rec.started = r.at("started").to_number<std::int64_t>();
  rec.finished = r.at("finished").to_number<std::int64_t>();
  rec.received = now_us();
  std::lock_guard lock(records_mutex_);
  records_.push_back(std::move(rec));
}

void PoolCore::export_details() {
  std::vector<InvocationRecord> records;
  {
    std::lock_guard lock(records_mutex_);
    records.swap(records_);
  }
  if (!export_dir_ || records.empty()) return;
  try {
    auto name = base_.substr(rt_.prefix().size());
    std::replace(name.begin(), name.end(), ':', '-');
    write_execution_details(*export_dir_, name.substr(0, name.size() - 1),
                            "Pool(" + std::to_string(processes_) + ")", std::move(records));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lithops: could not write execution details to %s: %s\n",
                 export_dir_->c_str(), e.what());
  }
}

void PoolCore::stop_collector() {
  if (!collector_.joinable()) return;
  stopping_ = true;
  if (collector_.get_id() == std::this_thread::get_id()) return;  // it stops after this batch
  try {
    store_.run({"RPUSH", results_key_, "{\"wake\":true}"});
  } catch (const std::exception&) {
    // The collector notices `stopping_` within a second on its own.
  }
  collector_.join();
}

void PoolCore::cleanup_keys() {
  try {
    store_.run({"DEL", tasks_key_, results_key_, alive_key_});
  } catch (const std::exception&) {
    // They expire anyway.
  }
}

}  // namespace detail

Pool::Pool() : Pool(PoolOptions{}) {}
namespace {
PoolOptions with_processes(int processes) {
  PoolOptions o;
  o.processes = processes;
  return o;
}
}  // namespace
Pool::Pool(int processes) : Pool(with_processes(processes)) {}
Pool::Pool(PoolOptions options) : core_(std::make_shared<detail::PoolCore>(std::move(options))) {
  detail::register_pool(core_);
}
Pool::Pool(Pool&&) noexcept = default;
Pool& Pool::operator=(Pool&&) noexcept = default;
Pool::~Pool() {
  // PO-25: dropping a pool whose tasks have not all completed cancels them; say so (CPython's
  // ResourceWarning "unclosed running multiprocessing pool"). A pool without pending work ends
  // quietly: leaving scope is this API's `with Pool() as p:`.
  if (core_ && core_.use_count() == 1 && core_->has_pending_work()) {
    std::fprintf(stderr,
                 "lithops: ResourceWarning: unclosed running multiprocessing pool with pending "
                 "tasks; terminating it (call close() and join() to wait for them)\n");
  }
}

std::shared_ptr<detail::Job> Pool::submit_job(const std::string& function, json::array tasks,
                                              std::size_t chunksize,
                                              std::function<void(const json::array&)> on_success,
                                              ErrorCallback on_error) {
  return core_->submit(function, std::move(tasks), chunksize, std::move(on_success),
                       std::move(on_error));
}

void Pool::close() { core_->close(); }
void Pool::join() { core_->join(); }
void Pool::terminate() { core_->terminate(); }
int Pool::processes() const { return core_->processes(); }

}  // namespace lithops::multiprocessing
