#include "tls_redis.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json/serialize.hpp>

namespace lithops::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---- certificates ------------------------------------------------------------------------------

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using Cert = std::unique_ptr<X509, CertDeleter>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what + " failed");
}

Key new_key() {
  Key k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

struct CertSpec {
  const char* common_name;
  const char* san = nullptr;  // subjectAltName, e.g. "DNS:localhost,IP:127.0.0.1"
  bool ca = false;
  bool client = false;
  long not_before = -3600;  // seconds from now
  long not_after = 86400;
  long serial = 1;
};

// Signed by issuer/issuer_key, or self-signed when issuer is null.
Cert make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  Cert cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (spec.ca) {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), signer, NID_ext_key_usage, spec.client ? "clientAuth" : "serverAuth");
  }
  if (spec.san != nullptr) add_ext(cert.get(), signer, NID_subject_alt_name, spec.san);
  add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0,
        "X509_sign");
  return cert;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "fopen");
  const bool ok = cert != nullptr
                      ? PEM_write_X509(f, cert) == 1
                      : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  check(ok, "PEM_write");
}

std::string make_dir(const char* prefix) {
  std::string templ = std::string("/tmp/") + prefix + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return templ;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts_connections(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string quote(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

TestPki::TestPki() : dir_(make_dir("lithops-pki")) {
  Key ca_key = new_key();
  Cert ca_cert = make_cert({.common_name = "Lithops test CA", .ca = true, .serial = 1},
                           ca_key.get(), nullptr, nullptr);
  write_pem(ca(), ca_cert.get(), nullptr);

  Key other_key = new_key();
  Cert other_cert = make_cert({.common_name = "Unrelated CA", .ca = true, .serial = 2},
                              other_key.get(), nullptr, nullptr);
  write_pem(other_ca(), other_cert.get(), nullptr);

  Key srv_key = new_key();
  Cert srv =
      make_cert({.common_name = "localhost", .san = "DNS:localhost,IP:127.0.0.1", .serial = 3},
                srv_key.get(), ca_cert.get(), ca_key.get());
  write_pem(server_cert(), srv.get(), nullptr);
  write_pem(server_key(), nullptr, srv_key.get());

  Key exp_key = new_key();
  Cert exp = make_cert({.common_name = "localhost",
                        .san = "DNS:localhost,IP:127.0.0.1",
                        .not_before = -3 * 86400,
                        .not_after = -86400,
                        .serial = 4},
                       exp_key.get(), ca_cert.get(), ca_key.get());
  write_pem(expired_cert(), exp.get(), nullptr);
  write_pem(expired_key(), nullptr, exp_key.get());

  Key cli_key = new_key();
  Cert cli = make_cert({.common_name = "lithops client", .client = true, .serial = 5},
                       cli_key.get(), ca_cert.get(), ca_key.get());
  write_pem(client_cert(), cli.get(), nullptr);
  write_pem(client_key(), nullptr, cli_key.get());
}

TestPki::~TestPki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

TlsRedis::TlsRedis(const TlsRedisOptions& options)
    : options_(options), dir_(make_dir("lithops-tls-redis")) {
  const auto deadline = Clock::now() + options.start_timeout;
  // Another process may take the free port before redis binds it: try again with another.
  for (int attempt = 1;; ++attempt) {
    port_ = free_port();
    std::ostringstream conf;
    conf << "daemonize no\nsave \"\"\nappendonly no\nbind 127.0.0.1\n"
         << "dir " << quote(dir_) << "\nlogfile " << quote(dir_ + "/redis.log") << "\n"
         << "requirepass " << quote(options.password) << "\n";
    if (options.plain) {
      conf << "port " << port_ << "\n";
    } else {
      conf << "port 0\ntls-port " << port_ << "\n"
           << "tls-cert-file " << quote(options.cert_file) << "\n"
           << "tls-key-file " << quote(options.key_file) << "\n"
           << "tls-ca-cert-file " << quote(options.ca_file) << "\n"
           << "tls-auth-clients " << (options.auth_clients ? "yes" : "no") << "\n";
    }
    const std::string conf_path = dir_ + "/redis.conf";
    std::ofstream(conf_path) << conf.str();

    std::string arg0 = "redis-server";
    std::vector<char*> argv{arg0.data(), const_cast<char*>(conf_path.c_str()), nullptr};
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    // Ready once its TLS port accepts connections; a server that exited (port taken) is retried.
    auto nap = milliseconds(2);
    bool exited = false;
    while (!accepts_connections(port_)) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        exited = true;
        pid_ = -1;
        break;
      }
      if (Clock::now() > deadline) {
        throw std::runtime_error("the TLS redis-server did not start in time; its log:\n" +
                                 log_tail());
      }
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, milliseconds(50));
    }
    if (!exited) return;
    if (attempt >= 3 || Clock::now() > deadline) {
      throw std::runtime_error("the TLS redis-server exited during start-up; its log:\n" +
                               log_tail());
    }
  }
}

TlsRedis::~TlsRedis() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TlsRedis::stats(const TestPki& pki) const {
  // redis-cli (redis-tools) speaks TLS; the password goes through the environment, not argv.
  const std::string cmd = "REDISCLI_AUTH='" + options_.password + "' redis-cli --tls --cacert '" +
                          pki.ca() + "' --cert '" + pki.client_cert() + "' --key '" +
                          pki.client_key() + "' -h localhost -p " + std::to_string(port_) +
                          " INFO stats 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "(redis-cli did not run)";
  std::string out;
  char line[512];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    const std::string_view l(line);
    if (l.starts_with("total_connections_received:") ||
        l.starts_with("total_commands_processed:")) {
      out += std::string(l.substr(0, l.find_first_of("\r\n"))) + " ";
    }
  }
  ::pclose(p);
  return out.empty() ? "(no stats)" : out;
}

std::string TlsRedis::log_tail() const {
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

boost::json::object TlsRedis::redis_config(const std::string& ca_file, const std::string& cert_file,
                                           const std::string& key_file) const {
  boost::json::object tls{{"ca_file", ca_file}};
  if (!cert_file.empty()) {
    tls["cert_file"] = cert_file;
    tls["key_file"] = key_file;
  }
  return {{"url", "rediss://localhost:" + std::to_string(port_)},
          {"password", options_.password},
          {"tls", tls}};
}

namespace {
struct TlsHarness {
  TestPki pki;
  std::unique_ptr<TlsRedis> server;
  std::string config_path;
};
TlsHarness* g_harness = nullptr;
}  // namespace

void start_tls_harness_if_requested() {
  const char* flag = std::getenv("LITHOPS_TEST_REDIS_TLS");
  if (flag == nullptr || std::strcmp(flag, "1") != 0 || g_harness != nullptr) return;
  auto* h = g_harness = new TlsHarness();
  std::atexit([] {
    delete g_harness;
    g_harness = nullptr;
  });
  h->server = std::make_unique<TlsRedis>(TlsRedisOptions{.cert_file = h->pki.server_cert(),
                                                         .key_file = h->pki.server_key(),
                                                         .ca_file = h->pki.ca(),
                                                         .auth_clients = true});
  const std::string password_file = h->pki.dir() + "/redis-password";
  {
    const int fd = ::open(password_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write " + password_file);
    const std::string line = h->server->password() + "\n";
    const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write " + password_file);
  }
  boost::json::object redis =
      h->server->redis_config(h->pki.ca(), h->pki.client_cert(), h->pki.client_key());
  redis.erase("password");
  redis["password_file"] = password_file;
  h->config_path = h->pki.dir() + "/lithops-config.json";
  std::ofstream(h->config_path) << boost::json::serialize(boost::json::object{{"redis", redis}});
  ::setenv("LITHOPS_CONFIG_FILE", h->config_path.c_str(), 1);
  std::fprintf(stderr, "lithops test harness: redis over TLS (mutual) at rediss://localhost:%d\n",
               h->server->port());
}

void report_tls_harness() {
  if (g_harness == nullptr) return;
  // Evidence that the tests went through the TLS server (it has no plain port).
  std::fprintf(stderr, "lithops test harness: the TLS redis-server saw %s\n",
               g_harness->server->stats(g_harness->pki).c_str());
}

}  // namespace lithops::test
