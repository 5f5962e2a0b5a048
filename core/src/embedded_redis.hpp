// EmbeddedRedis: a private redis-server for one driver process.
//
// Used when the Lithops config has no `redis` section, and by tests. The server listens on a Unix
// socket inside a private 0700 temp directory (or on 127.0.0.1:<free port> in tcp mode), requires a
// random password and keeps nothing on disk.
//
// The server must not outlive the driver, even when the driver is SIGKILLed. A watchdog child
// process (forked, never exec'd) owns redis-server and blocks on a pipe whose only write end is in
// the driver: when the driver goes away, for any reason, the watchdog sees EOF, stops redis-server
// and removes the temp directory.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include <boost/json/object.hpp>

namespace lithops::multiprocessing::detail {

// Declared outside the class only so `start(const Options& = {})` compiles: a nested struct's
// default member initializers are not usable until the enclosing class is complete.
struct EmbeddedRedisOptions {
  // Bound on the whole start(): fork, server start-up and the AUTH + PING readiness check.
  std::chrono::milliseconds start_timeout{10000};
  // Listen on 127.0.0.1:<random free port> instead of a Unix socket (tests that want TCP).
  bool tcp = false;
};

class EmbeddedRedis {
 public:
  using Options = EmbeddedRedisOptions;

  // Starts a server and returns once it answers AUTH + PING.
  // Throws mp::ConfigError when redis-server is not on PATH (the message says how to install it)
  // or when the server did not become ready in time (the message carries the tail of its log).
  // Safe to call from several threads at once.
  static std::unique_ptr<EmbeddedRedis> start(const Options& options = {});

  // Stops the server (SIGTERM, then SIGKILL after 2 s) and removes its temp directory. Blocks
  // until done (a few milliseconds normally, at most ~7 s if the watchdog misbehaves).
  ~EmbeddedRedis();

  EmbeddedRedis(const EmbeddedRedis&) = delete;
  EmbeddedRedis& operator=(const EmbeddedRedis&) = delete;

  // Path of the server's Unix socket; empty in tcp mode.
  const std::string& unix_socket() const { return unix_socket_; }
  // The random 32-hex-digit password the server requires.
  const std::string& password() const { return password_; }
  // TCP port on 127.0.0.1; 0 when the server listens on a Unix socket only.
  int port() const { return port_; }
  // The private temp directory holding the socket, config and log.
  const std::string& directory() const { return dir_; }
  // A `redis` config section for the state store:
  // {"unix_socket": path, "password": pw} or {"host": "127.0.0.1", "port": N, "password": pw}.
  boost::json::object redis_config() const;
  // redis-server's pid and the watchdog's pid (for tests and diagnostics).
  pid_t pid() const { return redis_pid_; }
  pid_t watchdog_pid() const { return watchdog_pid_; }

 private:
  EmbeddedRedis() = default;
  void launch(const std::string& server_path, const Options& options);
  void wait_ready(std::chrono::steady_clock::time_point deadline);
  std::string log_tail() const;
  void stop() noexcept;

  std::string dir_;
  std::string unix_socket_;
  std::string log_path_;
  std::string password_;
  int port_ = 0;
  pid_t watchdog_pid_ = -1;
  pid_t redis_pid_ = -1;
  int keepalive_fd_ = -1;  // write end of the watchdog's pipe: closing it stops the server
};

}  // namespace lithops::multiprocessing::detail
