#include "redis_tls.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "lithops/sdk/errors.hpp"

namespace lithops::plugins::redis {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---- a socket BIO that never raises SIGPIPE -----------------------------------------------------

struct SocketData {
  int fd = -1;
  unsigned char first[4] = {};  // the first bytes the server sent (to recognise a plain server)
  int first_len = 0;
};

int bio_read(BIO* b, char* out, int len) {
  BIO_clear_retry_flags(b);
  auto* d = static_cast<SocketData*>(BIO_get_data(b));
  ssize_t n;
  do {
    n = ::recv(d->fd, out, static_cast<std::size_t>(len), 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0 && d->first_len < 4) {
    const int take = std::min<int>(4 - d->first_len, static_cast<int>(n));
    std::memcpy(d->first + d->first_len, out, static_cast<std::size_t>(take));
    d->first_len += take;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(b);
  return static_cast<int>(n);
}

int bio_write(BIO* b, const char* in, int len) {
  BIO_clear_retry_flags(b);
  auto* d = static_cast<SocketData*>(BIO_get_data(b));
  ssize_t n;
  do {
    n = ::send(d->fd, in, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(b);
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int bio_destroy(BIO* b) {
  delete static_cast<SocketData*>(BIO_get_data(b));
  BIO_set_data(b, nullptr);
  return 1;
}

BIO_METHOD* socket_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lithops redis");
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    BIO_meth_set_destroy(m, bio_destroy);
    return m;
  }();
  return method;
}

// ---- messages ----------------------------------------------------------------------------------

// The oldest OpenSSL error queued, as text ("" when none).
std::string openssl_error() {
  const unsigned long e = ERR_peek_error();
  if (e == 0) return {};
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

int openssl_reason() {
  const unsigned long e = ERR_peek_error();
  return e == 0 ? 0 : ERR_GET_REASON(e);
}

std::string file_problem(const char* key, const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0) {
    return "cannot read `redis.tls." + std::string(key) + "` " + path + ": " +
           std::strerror(errno) + "; fix the path in the Lithops config";
  }
  return {};
}

[[noreturn]] void bad_file(const char* key, const std::string& path, const char* what) {
  std::string why = file_problem(key, path);
  if (why.empty()) {
    why = "`redis.tls." + std::string(key) + "` " + path + " " + what + " (" + openssl_error() +
          "); fix the file or the setting in the Lithops config";
  }
  ERR_clear_error();
  throw sdk::ConfigError(why);
}

std::string time_text(const ASN1_TIME* t) {
  std::string out;
  if (BIO* mem = BIO_new(BIO_s_mem())) {
    if (ASN1_TIME_print(mem, t) == 1) {
      char* data = nullptr;
      const long n = BIO_get_mem_data(mem, &data);
      out.assign(data, static_cast<std::size_t>(n));
    }
    BIO_free(mem);
  }
  return out;
}

// Keeps OpenSSL's verdict but notes when the rejected certificate expired, for the message (the
// peer certificate is not kept after a failed handshake). The SSL's app data is a std::string.
int note_expiry(int ok, X509_STORE_CTX* store) {
  if (ok == 0 && X509_STORE_CTX_get_error(store) == X509_V_ERR_CERT_HAS_EXPIRED) {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    X509* cert = X509_STORE_CTX_get_current_cert(store);
    if (ssl != nullptr && cert != nullptr && SSL_get_ex_data(ssl, 0) != nullptr) {
      *static_cast<std::string*>(SSL_get_ex_data(ssl, 0)) = time_text(X509_get0_notAfter(cert));
    }
  }
  return ok;
}

std::string verify_failure(long result, const std::string& expired_on, const std::string& name,
                           const std::string& at) {
  const std::string head = "TLS: the certificate of redis at " + at + " was rejected (" +
                           X509_verify_cert_error_string(result) + "): ";
  switch (result) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return head + "it expired on " + expired_on +
             ". Renew the server's certificate (redis-server `tls-cert-file`); setting "
             "`redis.tls.verify` to false would skip the check, which is unsafe";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return head +
             "it is not valid yet; check the clocks, or the server's certificate "
             "(redis-server `tls-cert-file`)";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return head + "it does not name \"" + name +
             "\". Set `redis.tls.server_name` to a name the certificate holds, or connect by such "
             "a name (`redis.host` or `redis.url`)";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return head +
             "it is not signed by a CA this client trusts. Set `redis.tls.ca_file` to the PEM "
             "file of the CA that signed the server's certificate";
    default:
      return head +
             "check `redis.tls.ca_file` and the server's certificate (redis-server "
             "`tls-cert-file`)";
  }
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

constexpr const char* kPlainHint =
    "the port does not speak TLS (a plain redis port?): use a redis:// URL and no `redis.tls` for "
    "a plain server, or point `redis.url`/`redis.port` at the server's tls-port";

constexpr const char* kClientCertHint =
    "the server requires a client certificate (redis-server `tls-auth-clients`): set "
    "`redis.tls.cert_file` and `redis.tls.key_file` to a certificate its `tls-ca-cert-file` CA "
    "signed";

}  // namespace

// ---- TlsContext --------------------------------------------------------------------------------

TlsContext::TlsContext(const RedisConfig& config) : config_(config) {
  const TlsConfig& t = config.tls_options;
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) throw sdk::ConfigError("TLS: cannot create an OpenSSL context");
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx_, SSL_MODE_AUTO_RETRY);
  SSL_CTX_set_read_ahead(ctx_, 1);  // a record in one recv(), not header then body
  try {
    if (t.verify) {
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, note_expiry);
      if (!t.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx_, t.ca_file.c_str(), nullptr) != 1) {
          bad_file("ca_file", t.ca_file, "holds no usable PEM certificate");
        }
      } else if (SSL_CTX_set_default_verify_paths(ctx_) != 1) {
        throw sdk::ConfigError(
            "TLS: cannot load the system's CA certificates; set `redis.tls.ca_file`");
      }
    }
    if (!t.cert_file.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx_, t.cert_file.c_str()) != 1) {
        bad_file("cert_file", t.cert_file, "holds no usable PEM certificate");
      }
      const bool loaded =
          SSL_CTX_use_PrivateKey_file(ctx_, t.key_file.c_str(), SSL_FILETYPE_PEM) == 1;
      const bool mismatch = !loaded && openssl_reason() == X509_R_KEY_VALUES_MISMATCH;
      if (!loaded && !mismatch) {
        bad_file("key_file", t.key_file, "holds no usable PEM private key");
      }
      if (mismatch || SSL_CTX_check_private_key(ctx_) != 1) {
        ERR_clear_error();
        throw sdk::ConfigError("`redis.tls.key_file` " + t.key_file +
                               " is not the private key of `redis.tls.cert_file` " + t.cert_file +
                               "; give the matching pair");
      }
    }
  } catch (...) {
    SSL_CTX_free(ctx_);
    throw;
  }
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

// ---- TlsStream ---------------------------------------------------------------------------------

TlsStream::TlsStream(const TlsContext& tls, int fd, milliseconds timeout,
                     const std::string& address) {
  const RedisConfig& config = tls.config();
  const TlsConfig& t = config.tls_options;
  ssl_ = SSL_new(tls.get());
  BIO* bio = BIO_new(socket_method());
  if (ssl_ == nullptr || bio == nullptr) {
    BIO_free(bio);
    SSL_free(ssl_);
    throw sdk::ConnectionError("TLS: out of memory connecting to redis at " + address);
  }
  auto* data = new SocketData{};
  data->fd = fd;
  BIO_set_data(bio, data);
  SSL_set_bio(ssl_, bio, bio);  // ssl_ owns it now
  std::string expired_on;
  SSL_set_ex_data(ssl_, 0, &expired_on);

  const std::string name = t.server_name.empty() ? config.host : t.server_name;
  const bool ip = is_ip(name);
  if (!ip) {
    // SNI (SSL_set_tlsext_host_name, spelled out: the macro has a C cast); no IP (RFC 6066).
    SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(name.c_str()));
  }
  if (t.verify) {
    const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str())
                      : SSL_set1_host(ssl_, name.c_str());
    if (ok != 1) {
      SSL_free(ssl_);
      throw sdk::ConfigError("TLS: cannot check the server's certificate against \"" + name +
                             "\"; fix `redis.tls.server_name`");
    }
  }

  // The handshake runs non-blocking under poll(), so the whole of it obeys `timeout`.
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  const auto deadline = Clock::now() + timeout;
  std::string failure;
  for (;;) {
    ERR_clear_error();
    const int r = SSL_connect(ssl_);
    if (r == 1) break;
    const int err = SSL_get_error(ssl_, r);
    const int saved_errno = errno;
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
      pollfd p{fd, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      int n = left > 0 ? ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX))) : 0;
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) continue;
      failure = "TLS handshake with redis at " + address + " timed out after " +
                std::to_string(timeout.count()) + " ms (`redis.connect_timeout`): " +
                (data->first_len > 0 ? std::string("the server answered but did not finish it")
                                     : std::string(kPlainHint));
      break;
    }
    const long verify = SSL_get_verify_result(ssl_);
    if (t.verify && verify != X509_V_OK) {
      failure = verify_failure(verify, expired_on, name, address);
    } else if (data->first_len > 0 && (data->first[0] < 20 || data->first[0] > 23)) {
      // TLS records start with content type 20..23; "-ERR" or "+OK" is a plain server.
      failure = "TLS handshake with redis at " + address + " failed: " + kPlainHint;
    } else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN ||
               openssl_reason() == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      failure = "TLS handshake with redis at " + address + " failed: the server closed the " +
                "connection (" + (saved_errno != 0 ? std::strerror(saved_errno) : "EOF") + "); " +
                kPlainHint;
    } else {
      failure = "TLS handshake with redis at " + address + " failed: " + openssl_error() +
                "; check `redis.tls` and the server's TLS settings";
    }
    break;
  }
  ERR_clear_error();
  SSL_set_ex_data(ssl_, 0, nullptr);
  ::fcntl(fd, F_SETFL, flags);
  if (!failure.empty()) {
    SSL_free(ssl_);
    throw sdk::ConnectionError(failure);
  }
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

long TlsStream::fail_io(int ret, const char* during) {
  const int saved_errno = errno;
  const int err = SSL_get_error(ssl_, ret);
  int code = ECONNRESET;
  switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      code = EAGAIN;  // the socket timeout expired
      error_ = "timed out";
      break;
    case SSL_ERROR_ZERO_RETURN:
      error_ = "the server closed the TLS connection";
      break;
    case SSL_ERROR_SYSCALL:
      code = saved_errno != 0 ? saved_errno : ECONNRESET;
      error_ = std::string("TLS ") + during + ": " +
               (saved_errno != 0 ? std::strerror(saved_errno) : "connection closed");
      break;
    default: {
      const int reason = openssl_reason();
      if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
          reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE ||
          reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE) {
        error_ =
            "TLS: the server refused the connection (" + openssl_error() + "); " + kClientCertHint;
        code = EPROTO;
      } else if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        error_ = "the server closed the TLS connection";
      } else {
        error_ = std::string("TLS ") + during + " failed: " + openssl_error();
        code = EPROTO;
      }
    }
  }
  ERR_clear_error();
  errno = code;
  return -1;
}

long TlsStream::read(void* buf, std::size_t len) {
  ERR_clear_error();
  const int n = SSL_read(ssl_, buf, static_cast<int>(std::min<std::size_t>(len, INT_MAX)));
  if (n > 0) return n;
  return fail_io(n, "read");
}

bool TlsStream::read_exact(void* buf, std::size_t len) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    const long n = read(p, len);
    if (n < 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

bool TlsStream::write_all(const void* buf, std::size_t len) {
  const auto* p = static_cast<const char*>(buf);
  while (len > 0) {
    ERR_clear_error();
    const int chunk = static_cast<int>(std::min<std::size_t>(len, 1 << 30));
    const int n = SSL_write(ssl_, p, chunk);
    if (n <= 0) {
      fail_io(n, "write");
      if (errno == ECONNRESET || errno == EPIPE) {
        // The server may have said why before closing (an alert): prefer its reason.
        const std::string write_error = error_;
        const int write_errno = errno;
        char byte;
        if (read(&byte, 1) < 0 && errno == EPROTO) return false;
        error_ = write_error;
        errno = write_errno;
      }
      return false;
    }
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

bool TlsStream::pending() const { return SSL_has_pending(ssl_) == 1; }

}  // namespace lithops::plugins::redis
