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

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
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

  // Subscribes to channels on a dedicated connection.
  virtual std::unique_ptr<Subscription> subscribe(std::span<const std::string> channels) = 0;

  // How another process (a worker anywhere) connects to the same store: a config section of the
  // same shape the plugin was created with (e.g. {"host":..., "port":..., "password":...}).
  virtual boost::json::object connection_config() const = 0;

  // A short human-readable endpoint for error messages, e.g. "redis unix:/tmp/x/redis.sock".
  virtual std::string endpoint() const = 0;
};

}  // namespace lithops::sdk
