// The session's liveness key: while a driver's session runs, `<prefix>alive` exists with a short
// TTL that a background thread refreshes; at a clean shutdown it is deleted. A session whose
// keys remain without this key is dead (its driver crashed or was killed): `lithops clean`
// removes its keys and `lithops sessions` lists it as dead (docs/cli.md).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace lithops::multiprocessing::detail {

class Store;

// The key's name under a session prefix ("lithops:<session>:").
inline std::string liveness_key(const std::string& prefix) { return prefix + "alive"; }

// Default TTL of the liveness key (config `lithops.liveness_ttl`); refreshed every TTL/3.
inline constexpr long long kDefaultLivenessTtl = 30;

class Liveness {
 public:
  // Writes the key now (throws mp::OSError if the store refuses it), then refreshes it every
  // ttl/3 on its own thread. `info` is the key's value (JSON: start time, host, pid, backend).
  Liveness(Store& store, std::string key, std::string info, long long ttl_seconds);
  // Stops the refresh thread and deletes the key (best effort: it expires anyway).
  ~Liveness();
  Liveness(const Liveness&) = delete;
  Liveness& operator=(const Liveness&) = delete;

 private:
  void run();
  void write();

  Store& store_;
  std::string key_;
  std::string info_;
  std::string ttl_text_;
  std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace lithops::multiprocessing::detail
