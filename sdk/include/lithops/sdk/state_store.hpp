// StateStore: the Redis-shaped shared state every process of a session talks to.
//
// The core builds every multiprocessing primitive (queues, locks, results, ...) from Redis commands
// and Lua scripts, so a store speaks the Redis command language: a plugin for another server that
// speaks it (Valkey, KeyDB, a cluster proxy) only implements transport and connection handling.
//
// Threading: every method may be called from many threads at once. A blocking command (BLPOP,
// BLMOVE, ...) occupies one connection for its duration and must not delay other callers: keep a
// connection per thread or a pool.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace lithops::sdk {

// One reply of the server, as in RESP2.
struct Reply {
  enum class Type : std::uint8_t { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  long long integer = 0;        // kInteger
  std::string str;              // kString, kStatus, kError
  std::vector<Reply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

// A command and its arguments, e.g. {"RPUSH", key, value}. Arguments are binary safe.
using CommandArgs = std::span<const std::string_view>;
using Command = std::vector<std::string>;

// A message received on a subscription.
struct PubSubMessage {
  std::string channel;
  std::string payload;
};

// A pub/sub subscription on its own connection. Destroying it unsubscribes.
class Subscription {
 public:
  virtual ~Subscription() = default;
  // Waits up to `timeout` for the next message; std::nullopt when none arrived in time.
  // Throws ConnectionError if the connection is lost.
  virtual std::optional<PubSubMessage> next(std::chrono::milliseconds timeout) = 0;
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  StateStore() = default;
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Runs one command and returns its reply. A server error comes back as a Reply of type kError;
  // a transport failure throws ConnectionError naming the endpoint.
  //
  // `timeout` bounds the whole call. Blocking commands carry their own server-side timeout in
  // their arguments; the caller passes that plus a margin here so a dead server cannot hang it.
  virtual Reply execute(CommandArgs args, std::chrono::milliseconds timeout) = 0;

  // Sends all commands in one round trip and returns their replies in order.
  virtual std::vector<Reply> execute_pipeline(std::span<const Command> commands,
                                              std::chrono::milliseconds timeout) = 0;

  // Like execute_pipeline, but the string reply of commands[i], for i < into.size(), goes
  // straight into the caller's buffer into[i] instead of a Reply's `str` (bulk reads such as
  // GETRANGE of a large value, without intermediate copies). That reply comes back with type
  // kString, an empty `str` and `integer` = the length of the string the server sent; the first
  // min(length, into[i].size()) bytes of it are in into[i], the rest are dropped. Any other reply
  // (nil, error, integer, ...) comes back as from execute_pipeline and leaves into[i] untouched.
  // Throws std::invalid_argument when into.size() > commands.size().
  //
  // The default runs execute_pipeline() and copies; a plugin may override it to receive the bytes
  // in place (ABI version 3).
  virtual std::vector<Reply> execute_pipeline_into(std::span<const Command> commands,
                                                   std::span<const std::span<std::byte>> into,
                                                   std::chrono::milliseconds timeout) {
    if (into.size() > commands.size()) {
      throw std::invalid_argument(
          "StateStore::execute_pipeline_into: " + std::to_string(into.size()) + " buffers for " +
          std::to_string(commands.size()) + " commands");
    }
    std::vector<Reply> replies = execute_pipeline(commands, timeout);
    for (std::size_t i = 0; i < into.size() && i < replies.size(); ++i) {
      Reply& r = replies[i];
      if (r.type != Reply::Type::kString) continue;
      const std::size_t n = std::min(r.str.size(), into[i].size());
      if (n > 0) std::memcpy(into[i].data(), r.str.data(), n);
      r.integer = static_cast<long long>(r.str.size());
      std::string().swap(r.str);
    }
    return replies;
  }

  // Subscribes to channels on a dedicated connection.
  virtual std::unique_ptr<Subscription> subscribe(std::span<const std::string> channels) = 0;

  // How another process (a worker anywhere) connects to the same store: a config section of the
  // same shape the plugin was created with (e.g. {"host":..., "port":..., "password":...}).
  virtual boost::json::object connection_config() const = 0;

  // A short human-readable endpoint for error messages, e.g. "redis unix:/tmp/x/redis.sock".
  virtual std::string endpoint() const = 0;
};

}  // namespace lithops::sdk
