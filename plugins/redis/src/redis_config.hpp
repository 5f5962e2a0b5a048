// The `redis` section of the Lithops config, parsed and checked once.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include <boost/json/object.hpp>

namespace lithops::plugins::redis {

struct RedisConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // when set, used instead of host/port
  std::string password;     // empty: no AUTH
  std::string username;     // ACL user: AUTH username password
  long long db = 0;         // SELECT db when not 0
  std::chrono::milliseconds connect_timeout{5000};
  std::size_t pool_size = 16;  // idle connections kept for reuse

  // Throws sdk::ConfigError naming the key and the expected type. Unknown keys are ignored: the
  // section is shared with other parts of Lithops.
  static RedisConfig parse(const boost::json::object& section);

  // "unix:/path/redis.sock" or "127.0.0.1:6379" ("[::1]:6379" for IPv6).
  std::string address() const;
};

}  // namespace lithops::plugins::redis
