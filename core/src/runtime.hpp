// The per-process session: configuration, the state store, the executor (created on first use),
// the key namespace, and the bookkeeping of invocations that may be lost.
//
// In the driver the Runtime is created lazily by the first Process/Pool/shared object; in a
// worker it is created from the context each payload carries, so nested Processes and shared
// objects in a worker use the driver's store and namespace.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

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
  // `handler` runs (on an executor thread) if invocation `id` is lost. Must not block.
  void watch(const std::string& id, LossHandler handler);
  void unwatch(const std::string& id);
  void on_invocation_lost(const std::string& id, int status, const std::string& reason) override;

 private:
  Runtime(boost::json::object config, std::string prefix, bool driver, long long expiry);
  void stop();

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
  std::map<std::string, LossHandler> watchers_;
  std::atomic<unsigned long long> counter_{0};
  std::string id_base_;
};

}  // namespace lithops::multiprocessing::detail
