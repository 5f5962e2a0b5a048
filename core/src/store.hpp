// The core's view of the StateStore: typed helpers over Redis commands, error mapping, and the
// one blocking-pop-with-deadline every primitive uses.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lithops/multiprocessing/common.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "lithops/sdk/state_store.hpp"

namespace lithops::multiprocessing::detail {

// A Lua script run atomically on the server. Define each one once, as a static:
//   static const Script kPut{R"lua( ... )lua"};
// Store::eval sends it by SHA1 (EVALSHA) and loads it on first use or after a server restart.
struct Script {
  explicit Script(std::string_view text) : source(text) {}
  std::string_view source;
};

// A command met a key holding another type (Redis' WRONGTYPE error). A shut-down queue turns its
// items list into a string so that plain list commands see the shutdown (queue_internal.hpp).
class WrongTypeError : public OSError {
 public:
  using OSError::OSError;
};

class Store {
 public:
  Store(std::unique_ptr<sdk::StateStore> store, long long expiry_seconds);

  // Runs one command; a server error reply or a lost connection throws (mp::OSError naming the
  // endpoint; WrongTypeError for WRONGTYPE). Use for non-blocking commands.
  sdk::Reply run(std::initializer_list<std::string_view> args);
  sdk::Reply run(std::span<const std::string_view> args);
  // One round trip for many commands; error replies are returned, not thrown.
  std::vector<sdk::Reply> pipeline(std::span<const sdk::Command> commands);
  // pipeline(), with the string replies of the first into.size() commands written into the
  // caller's buffers (sdk::StateStore::execute_pipeline_into: such a reply's `integer` is the
  // length the server sent, its `str` is empty).
  std::vector<sdk::Reply> pipeline_into(std::span<const sdk::Command> commands,
                                        std::span<const std::span<std::byte>> into);

  // BLPOP on `keys` until something arrives or `timeout` passes (std::nullopt: forever).
  // Returns {key, value}. Long waits are cut into slices so a lost server is noticed.
  std::optional<std::pair<std::string, std::string>> blpop(std::span<const std::string> keys,
                                                           Timeout timeout);
  std::optional<std::string> blpop(const std::string& key, Timeout timeout);
  // BLMPOP LEFT COUNT `count`: up to `count` values from the first non-empty key, waiting as
  // blpop() does. Returns {key, values}; std::nullopt on timeout. On a server without BLMPOP
  // (Redis < 7) it degrades to blpop(), one value at a time.
  std::optional<std::pair<std::string, std::vector<std::string>>> blmpop(
      std::span<const std::string> keys, long long count, Timeout timeout);

  // Runs a script with KEYS and ARGV; a script error throws mp::OSError with the server's message.
  sdk::Reply eval(const Script& script, std::span<const std::string_view> keys,
                  std::span<const std::string_view> args);
  sdk::Reply eval(const Script& script, std::initializer_list<std::string_view> keys,
                  std::initializer_list<std::string_view> args) {
    return eval(script, std::span<const std::string_view>(keys.begin(), keys.size()),
                std::span<const std::string_view>(args.begin(), args.size()));
  }

  long long expiry() const { return expiry_; }
  std::string expiry_text() const { return std::to_string(expiry_); }
  sdk::StateStore& raw() { return *store_; }

 private:
  std::unique_ptr<sdk::StateStore> store_;
  // Runs the blocking command `make(slice_seconds)` in slices until a non-nil reply or the
  // deadline; at the deadline `last_look()` (non-blocking) gets the final word.
  std::optional<sdk::Reply> blocking(
      Timeout timeout, const std::function<std::vector<std::string_view>(const std::string&)>& make,
      const std::function<std::optional<sdk::Reply>()>& last_look);

  long long expiry_;
  std::atomic<bool> no_blmpop_{false};
  std::mutex sha_mutex_;
  std::map<const void*, std::string> sha_;  // Script address -> SHA1 from SCRIPT LOAD
};

// "0.25": a Redis blocking-command timeout in seconds (Redis >= 6 takes fractions).
std::string seconds_text(Duration d);

}  // namespace lithops::multiprocessing::detail
