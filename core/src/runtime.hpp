// The per-process session: configuration, the state store, the executor (created on first use),
// the key namespace, and the bookkeeping of invocations that may be lost.
//
// In the driver the Runtime is created lazily by the first Process/Pool/shared object; in a
// worker it is created from the context each payload carries, so nested Processes and shared
// objects in a worker use the driver's store and namespace.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/json/object.hpp>

#include "execution_details.hpp"
#include "lithops/sdk/executor.hpp"
#include "store.hpp"

namespace lithops::multiprocessing::detail {

class EmbeddedRedis;
class Liveness;
class OutputPrinter;

class Runtime : public sdk::ExecutorListener {
 public:
  // The driver's runtime, created on first call (throws ConfigError if the backend can't start).
  static Runtime& get();
  // Installs the runtime a worker payload describes (reused when it is the same session).
  static Runtime& for_worker(const boost::json::object& context);
  // The current runtime, or nullptr (never creates one).
  static Runtime* current();
  // Tears the current runtime down (mp::shutdown, exit).
  static void shutdown();

  ~Runtime() override;

  const boost::json::object& config() const { return config_; }
  Store& store() { return *store_; }
  sdk::Executor& executor();
  const std::string& prefix() const { return prefix_; }
  // pid of the private redis-server this runtime started, if any (diagnostics and tests).
  std::optional<long long> embedded_redis_pid() const;
  // A new id, unique in the session across all its processes.
  std::string new_id();
  // What a worker needs to join this session (goes into every payload).
  const boost::json::object& worker_context() const { return worker_context_; }

  // Delivers a payload through the executor; one larger than the backend's limit travels through
  // the store and the worker fetches it (see handle_payload).
  sdk::InvocationInfo invoke(const std::string& id, std::string payload);

  // STREAM_STDOUT: the channel workers publish their output on, with the driver printing it.
  const std::string& output_channel();
  // Returns once all output published so far has been printed (no-op if not streaming).
  void sync_output();

  // EXPORT_EXECUTION_DETAILS for Processes: collected here, written when the runtime stops.
  void record_process(InvocationRecord record);

  using LossHandler = std::function<void(int status, const std::string& reason)>;
  // Whether the worker's exit report has reached the store (asked off the executor's threads).
  using ReportedCheck = std::function<bool()>;
  // `handler` runs (on an executor thread) if invocation `id` is lost. Must not block. It also
  // runs (on the grace thread) when the executor says the invocation ended but, a grace period
  // later, `reported` (if given) says no exit report came and the watch is still there.
  void watch(const std::string& id, LossHandler handler, ReportedCheck reported = {});
  void unwatch(const std::string& id);
  void on_invocation_lost(const std::string& id, int status, const std::string& reason) override;
  void on_invocation_ended(const std::string& id) override;
  // lithops.lost_grace_period: how long after its end an invocation may still report its exit.
  std::chrono::milliseconds lost_grace_period() const { return grace_; }

 private:
  Runtime(boost::json::object config, std::string prefix, bool driver, long long expiry);
  void stop();
  void grace_loop();
  void stop_grace_thread();
  void check_ended(const std::string& id);

  struct Watch {
    LossHandler handler;
    ReportedCheck reported;
  };

  boost::json::object config_;
  std::string prefix_;
  bool driver_;
  std::unique_ptr<EmbeddedRedis> embedded_redis_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Liveness> liveness_;  // driver only: the session's `<prefix>alive` key
  std::string store_plugin_;
  boost::json::object worker_context_;
  std::mutex executor_mutex_;
  std::unique_ptr<sdk::Executor> executor_;
  std::mutex output_mutex_;
  std::unique_ptr<OutputPrinter> output_;
  std::string output_channel_;
  std::mutex records_mutex_;
  std::vector<InvocationRecord> process_records_;
  std::mutex watch_mutex_;
  std::map<std::string, Watch> watchers_;
  // Invocations the executor said ended, checked for their exit report when their time comes.
  std::chrono::milliseconds grace_{5000};
  std::mutex grace_mutex_;
  std::condition_variable grace_cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::string> grace_queue_;
  std::thread grace_thread_;
  bool grace_stopping_ = false;
  std::atomic<unsigned long long> counter_{0};
  std::string id_base_;
};

}  // namespace lithops::multiprocessing::detail
