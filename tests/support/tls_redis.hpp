// Test support for TLS to Redis: certificates made at test time with OpenSSL's C API, and a real
// redis-server (Debian's is built with TLS) listening only on a TLS port of 127.0.0.1.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include <boost/json/object.hpp>

namespace lithops::test {

// A private directory of PEM files: a CA, a server certificate for "localhost" and 127.0.0.1
// signed by it, a client certificate signed by it, a server certificate that expired yesterday,
// and a second, unrelated CA. Removed with the object.
class TestPki {
 public:
  TestPki();  // throws std::runtime_error
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  std::string ca() const { return dir_ + "/ca.pem"; }
  std::string other_ca() const { return dir_ + "/other-ca.pem"; }
  std::string server_cert() const { return dir_ + "/server.pem"; }
  std::string server_key() const { return dir_ + "/server.key"; }
  std::string expired_cert() const { return dir_ + "/expired.pem"; }
  std::string expired_key() const { return dir_ + "/expired.key"; }
  std::string client_cert() const { return dir_ + "/client.pem"; }
  std::string client_key() const { return dir_ + "/client.key"; }

 private:
  std::string dir_;
};

struct TlsRedisOptions {
  std::string cert_file;  // the server's certificate and key (e.g. pki.server_cert())
  std::string key_file;
  std::string ca_file;        // tls-ca-cert-file
  bool auth_clients = false;  // tls-auth-clients yes: mutual TLS
  bool plain = false;         // a plain TCP port instead (for "plain server behind rediss")
  std::string password = "tls-test-password";
  std::chrono::milliseconds start_timeout{15000};
};

// redis-server on 127.0.0.1:<free port> with `port 0` and `tls-port` (or a plain port), killed
// with the object (and by the kernel if the test process dies: PR_SET_PDEATHSIG).
class TlsRedis {
 public:
  explicit TlsRedis(const TlsRedisOptions& options);  // throws std::runtime_error
  ~TlsRedis();
  TlsRedis(const TlsRedis&) = delete;
  TlsRedis& operator=(const TlsRedis&) = delete;

  int port() const { return port_; }
  const std::string& password() const { return options_.password; }
  // {"url": "rediss://localhost:<port>", "password": ..., "tls": {"ca_file": ...}} (and the
  // client certificate when auth_clients).
  boost::json::object redis_config(const std::string& ca_file, const std::string& cert_file = {},
                                   const std::string& key_file = {}) const;
  // "total_connections_received:N total_commands_processed:M" (through redis-cli over TLS with
  // pki's client certificate).
  std::string stats(const TestPki& pki) const;

 private:
  std::string log_tail() const;

  TlsRedisOptions options_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// The harness hook: with LITHOPS_TEST_REDIS_TLS=1 in the environment, starts a mutual-TLS
// redis-server for this test process and points LITHOPS_CONFIG_FILE at a config whose `redis`
// section reaches it over rediss:// (password in a password_file); the test's driver and its
// workers (and scenario subprocesses, which inherit the variable) then use it. The server stops
// at exit, after the runtime's own shutdown (an atexit handler registered before the runtime's).
// Does nothing without the variable. Call it in the driver only, before the runtime starts.
void start_tls_harness_if_requested();
// Prints the TLS server's connection and command counts to stderr (nothing without the harness).
void report_tls_harness();

}  // namespace lithops::test
