// RedisStore: the StateStore on a Redis server, over hiredis.
//
// Commands run on a pool of connections: a caller borrows one for the duration of its command, so
// a blocking BLPOP holds only its own connection. The pool grows without bound while every
// connection is busy and keeps at most `pool_size` idle ones.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "lithops/sdk/plugin_context.hpp"
#include "lithops/sdk/state_store.hpp"
#include "redis_config.hpp"
#include "redis_connection.hpp"

namespace lithops::plugins::redis {

class RedisStore final : public sdk::StateStore {
 public:
  // Reads ctx.section (see README.md) and connects once, so a wrong address or password fails
  // here: sdk::ConfigError for a bad section, sdk::ConnectionError for an unreachable server.
  explicit RedisStore(const sdk::PluginContext& ctx);
  ~RedisStore() override;

  // Throws sdk::ConnectionError on a transport failure or when `timeout` expires; the connection
  // involved is closed, never reused.
  sdk::Reply execute(sdk::CommandArgs args, std::chrono::milliseconds timeout) override;
  std::vector<sdk::Reply> execute_pipeline(std::span<const sdk::Command> commands,
                                           std::chrono::milliseconds timeout) override;
  // String replies of the first into.size() commands are read from the socket straight into
  // the caller's buffers (no copy through hiredis).
  std::vector<sdk::Reply> execute_pipeline_into(std::span<const sdk::Command> commands,
                                                std::span<const std::span<std::byte>> into,
                                                std::chrono::milliseconds timeout) override;
  // Opens a new connection for the subscription (not from the pool). Waits at most
  // `connect_timeout` for the server to confirm the subscription.
  std::unique_ptr<sdk::Subscription> subscribe(std::span<const std::string> channels) override;
  // The section as given, with `url` and `password_file` resolved (RedisConfig::worker_section).
  boost::json::object connection_config() const override {
    return config_.worker_section(section_);
  }
  std::string endpoint() const override { return "redis " + address_; }

  // Idle connections in the pool (for tests).
  std::size_t idle_connections() const;

 private:
  Connection borrow();
  void give_back(Connection conn) noexcept;

  const boost::json::object section_;
  const RedisConfig config_;
  const std::string address_;
  const std::unique_ptr<const TlsContext> tls_;  // null without TLS

  mutable std::mutex mu_;
  std::vector<Connection> idle_;  // reserved to pool_size: returning one never allocates
};

}  // namespace lithops::plugins::redis
