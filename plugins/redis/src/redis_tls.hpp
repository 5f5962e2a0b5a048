// TLS to Redis with OpenSSL, under the plugin's own socket code (hiredis 0.14 has no TLS).
//
// TlsContext holds the SSL_CTX built from `redis.tls` (CAs, client certificate) and is shared by
// every connection of a store. TlsStream is one connection's TLS session on a connected socket:
// the handshake obeys a deadline, and reads and writes go through a socket BIO of our own that
// sends with MSG_NOSIGNAL (OpenSSL's uses write(), which raises SIGPIPE on a closed peer).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "redis_config.hpp"

struct ssl_ctx_st;
struct ssl_st;

namespace lithops::plugins::redis {

class TlsContext {
 public:
  // Loads the CAs and the client certificate. Throws sdk::ConfigError naming the `redis.tls.*`
  // setting whose file is missing or unusable.
  explicit TlsContext(const RedisConfig& config);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* get() const { return ctx_; }
  const RedisConfig& config() const { return config_; }

 private:
  RedisConfig config_;
  ssl_ctx_st* ctx_ = nullptr;
};

class TlsStream {
 public:
  // Runs the handshake on the connected, blocking socket `fd` within `timeout`. Throws
  // sdk::ConnectionError that names the setting to fix: a CA that does not sign the server's
  // certificate (`redis.tls.ca_file`), an expired certificate, a name mismatch
  // (`redis.tls.server_name`), a plain server behind TLS (`redis.url`/`redis.tls`), a timeout.
  TlsStream(const TlsContext& tls, int fd, std::chrono::milliseconds timeout,
            const std::string& address);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Blocking I/O bounded by the socket's SO_RCVTIMEO/SO_SNDTIMEO. read: bytes read (> 0), or -1
  // with errno set (EAGAIN: timed out; ECONNRESET: closed) and error() describing it.
  long read(void* buf, std::size_t len);
  // Writes all of it; false with errno set and error() describing it.
  bool write_all(const void* buf, std::size_t len);
  // Reads exactly len bytes; false as read().
  bool read_exact(void* buf, std::size_t len);
  // Decrypted bytes ready without touching the socket.
  bool pending() const;
  // What the last failure was, with a hint naming the setting to fix when one applies.
  const std::string& error() const { return error_; }

 private:
  long fail_io(int ret, const char* during);

  ssl_st* ssl_ = nullptr;
  std::string error_;
};

}  // namespace lithops::plugins::redis
