// The `redis` section of the Lithops config, parsed and checked once.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include <boost/json/object.hpp>

namespace lithops::plugins::redis {

// `redis.tls`: TLS to the server (OpenSSL). Present, or a rediss:// URL, turns TLS on.
struct TlsConfig {
  std::string ca_file;      // PEM CAs that sign the server's certificate; empty: the system's
  std::string cert_file;    // client certificate (mutual TLS), with key_file
  std::string key_file;     // its private key (PEM)
  std::string server_name;  // SNI and the name checked; empty: `host`
  bool verify = true;       // check the server's certificate chain and name
};

// The environment variable read for the password when the config gives none.
inline constexpr const char* kPasswordEnv = "LITHOPS_REDIS_PASSWORD";

struct RedisConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // when set, used instead of host/port
  std::string password;     // empty: no AUTH
  std::string username;     // ACL user: AUTH username password
  long long db = 0;         // SELECT db when not 0
  std::chrono::milliseconds connect_timeout{5000};
  std::size_t pool_size = 16;  // idle connections kept for reuse
  bool tls = false;            // TLS on (a `tls` object or a rediss:// URL)
  TlsConfig tls_options;

  // Throws sdk::ConfigError naming the key and the expected type. Unknown keys are ignored: the
  // section is shared with other parts of Lithops. `url` fills host/port/unix_socket/username/
  // password/db; `password_file` and then $LITHOPS_REDIS_PASSWORD give the password when the
  // section has none. Nothing here echoes a password.

  static RedisConfig parse(const boost::json::object& section);

  // "unix:/path/redis.sock" or "127.0.0.1:6379" ("[::1]:6379" for IPv6), "… (TLS)" with TLS.
  std::string address() const;

  // The section a worker connects with: `given` with `url` and `password_file` replaced by the
  // fields they resolved to, so the worker needs neither the driver's password file nor its
  // environment. A section without them comes back unchanged.
  boost::json::object worker_section(const boost::json::object& given) const;

  bool password_resolved = false;  // the password came from password_file or the environment
};

}  // namespace lithops::plugins::redis
