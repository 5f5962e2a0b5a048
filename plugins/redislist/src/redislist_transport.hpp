// The "redislist" pipe transport: one Redis list per direction.
//
//   <pipe>:to0, <pipe>:to1   messages for end 0 / end 1, oldest first (RPUSH, BLPOP)
//   <pipe>:closed0/1         set when that end closed, so the peer's send fails (BrokenPipe)
//
// A closing end pushes a close marker after its last message, so the reader gets EOF once it has
// drained the list. The marker is a fixed byte string that includes the pipe id; a user message
// equal to it byte for byte would read as EOF (it starts with a NUL and 0xFF, which no JSON
// message and no accidental binary payload of a sensible size contains).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "lithops/sdk/pipe_transport.hpp"
#include "lithops/sdk/plugin_context.hpp"
#include "lithops/sdk/state_store.hpp"

namespace lithops::plugins::redislist {

class RedisListEnd : public sdk::PipeEnd {
 public:
  RedisListEnd(sdk::StateStore& store, const std::string& pipe_id, int end,
               std::string expiry_seconds);

  // One round trip: RPUSH + EXPIRE + a look at the peer's closed flag, pipelined.
  void send(std::string_view message) override;
  // One round trip: BLPOP (in slices of at most 2 s for long waits), LPOP for timeout zero.
  std::optional<std::string> recv(std::optional<std::chrono::milliseconds> timeout) override;
  // LLEN; then, to wait, BLMOVE of the list onto itself (a blocking look that consumes nothing).
  bool poll(std::chrono::milliseconds timeout) override;
  // poll() that `stop` interrupts (for mp::connection::wait): the BLMOVE runs in a pipeline
  // that names its connection (CLIENT SETNAME), so a stop finds it (CLIENT LIST) and ends it
  // with CLIENT UNBLOCK. No polling: one blocking command per slice of at most 2 s.
  bool wait_ready(std::chrono::milliseconds timeout, std::stop_token stop) override;
  void close() override;

 private:
  // Puts the marker back in front so every later recv (here or in another process) sees EOF.
  [[noreturn]] void eof();

  sdk::StateStore& store_;
  const std::string in_, out_, closed_flag_, peer_closed_flag_, marker_, expiry_;
  std::atomic<bool> eof_{false};
  std::atomic<bool> closed_{false};
};

class RedisListTransport : public sdk::PipeTransport {
 public:
  // sdk::ConfigError if ctx.store is missing (the core always passes one).
  explicit RedisListTransport(const sdk::PluginContext& ctx);

  void create(const std::string& pipe_id) override;
  std::unique_ptr<sdk::PipeEnd> attach(const std::string& pipe_id, int end) override;
  void destroy(const std::string& pipe_id) override;

 private:
  sdk::StateStore* store_;
  std::string expiry_;
};

}  // namespace lithops::plugins::redislist
