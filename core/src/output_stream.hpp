// STREAM_STDOUT: what a worker writes to stdout and stderr reaches the driver through Redis
// pub/sub and is printed there, line by line, prefixed with the process name.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "lithops/sdk/state_store.hpp"
#include "store.hpp"

namespace lithops::multiprocessing::detail {

// Worker side, around one invocation: fds 1 and 2 go to pipes whose lines a thread publishes on
// `channel` as {"name", "fd", "text"} batches. The destructor restores the fds and publishes
// everything written before it returns, so nothing is lost when the worker exits right after.
class OutputCapture {
 public:
  OutputCapture(Store& store, std::string channel, std::string name);
  ~OutputCapture();
  OutputCapture(const OutputCapture&) = delete;
  OutputCapture& operator=(const OutputCapture&) = delete;

 private:
  void pump();
  void publish(int fd, std::string& pending, bool flush_partial);

  Store& store_;
  std::string channel_, name_;
  int saved_[2] = {-1, -1};
  int read_[2] = {-1, -1};
  int wake_[2] = {-1, -1};
  std::thread reader_;
};

// Driver side: prints what workers publish.
class OutputPrinter {
 public:
  OutputPrinter(sdk::StateStore& store, Store& commands, std::string channel);
  ~OutputPrinter();
  // Returns once everything published before this call has been printed.
  void sync();

 private:
  void run();

  std::unique_ptr<sdk::Subscription> subscription_;
  Store& commands_;
  std::string channel_;
  std::mutex mutex_;
  std::condition_variable cv_;
  unsigned long long sync_sent_ = 0, sync_seen_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace lithops::multiprocessing::detail
