#include "liveness.hpp"

#include <cstdio>

#include "store.hpp"

namespace lithops::multiprocessing::detail {

Liveness::Liveness(Store& store, std::string key, std::string info, long long ttl_seconds)
    : store_(store),
      key_(std::move(key)),
      info_(std::move(info)),
      ttl_text_(std::to_string(ttl_seconds)),
      period_(std::chrono::milliseconds(ttl_seconds * 1000 / 3)) {
  write();  // before any other key of the session exists: `clean` never sees it keyless
  thread_ = std::thread([this] { run(); });
}

Liveness::~Liveness() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  try {
    store_.run({"DEL", key_});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lithops: could not delete the liveness key %s (it will expire): %s\n",
                 key_.c_str(), e.what());
  }
}

void Liveness::write() { store_.run({"SET", key_, info_, "EX", ttl_text_}); }

void Liveness::run() {
  std::unique_lock lock(mutex_);
  while (!cv_.wait_for(lock, period_, [this] { return stopping_; })) {
    lock.unlock();
    try {
      write();
    } catch (const std::exception& e) {
      // Keep trying: a short outage must not end the session; the key outlives two misses.
      std::fprintf(stderr, "lithops: could not refresh the liveness key %s: %s\n", key_.c_str(),
                   e.what());
    }
    lock.lock();
  }
}

}  // namespace lithops::multiprocessing::detail
