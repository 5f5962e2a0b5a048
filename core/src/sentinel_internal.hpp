// Process sentinels (Python's Process.sentinel) as wait objects of mp::connection::wait: a
// number per started Process of this process, mapped to where its exit record appears.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

namespace lithops::multiprocessing::detail {

struct SentinelState {
  explicit SentinelState(std::string key) : result_key(std::move(key)) {}
  const std::string result_key;    // the list the exit record is pushed to
  std::atomic<bool> ended{false};  // the record was taken here (join, is_alive, exitcode)
};

// Registers the sentinel of a process started here; returns its number (> 0, unique in this
// process). The registry holds it weakly: it lives as long as the Process's state.
long long register_sentinel(const std::shared_ptr<SentinelState>& sentinel);
// The sentinel with that number, or nullptr (never registered, or its Process is gone).
std::shared_ptr<SentinelState> find_sentinel(long long number);

// The process has ended: its exit record is there or was taken. Does not consume it.
bool sentinel_ready(const SentinelState& s);
// Blocks until sentinel_ready(s), `deadline` or `stop`. Returns sentinel_ready(s).
bool wait_sentinel(const SentinelState& s,
                   std::optional<std::chrono::steady_clock::time_point> deadline,
                   std::stop_token stop);

}  // namespace lithops::multiprocessing::detail
