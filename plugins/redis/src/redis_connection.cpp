#include "redis_connection.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "lithops/sdk/errors.hpp"

namespace lithops::plugins::redis {
namespace {

using std::chrono::milliseconds;

constexpr const char* kConnectFix =
    "start redis-server or fix the `redis` section of the Lithops config (host, port, unix_socket, "
    "password)";

timeval to_timeval(milliseconds t) {
  // Beyond ~30 years means "forever", which SO_RCVTIMEO spells as zero.
  if (t >= milliseconds(1'000'000'000'000LL)) return timeval{0, 0};
  // Zero would also mean forever: the shortest real bound is 1 ms.
  if (t < milliseconds(1)) t = milliseconds(1);
  return timeval{static_cast<time_t>(t.count() / 1000),
                 static_cast<suseconds_t>((t.count() % 1000) * 1000)};
}

std::string reply_text(const redisReply& r) { return std::string(r.str, r.len); }

// Receives exactly the bytes `iov[0..n)` describe (a blocking socket: SO_RCVTIMEO bounds each
// wait). False with errno set on failure; the end of the stream is ECONNRESET.
bool recv_all(int fd, iovec* iov, int n) {
  for (;;) {
    while (n > 0 && iov->iov_len == 0) {
      ++iov;
      --n;
    }
    if (n == 0) return true;
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(n);
    const ssize_t got = ::recvmsg(fd, &msg, MSG_WAITALL);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (got == 0) {
      errno = ECONNRESET;
      return false;
    }
    auto left = static_cast<std::size_t>(got);
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --n;
    }
    if (n > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
}

// A string reply delivered into `dest`, as sdk::StateStore::execute_pipeline_into describes.
void deliver(sdk::Reply& out, std::span<std::byte> dest) {
  if (out.type != sdk::Reply::Type::kString) return;
  const std::size_t n = std::min(out.str.size(), dest.size());
  if (n > 0) std::memcpy(dest.data(), out.str.data(), n);
  out.integer = static_cast<long long>(out.str.size());
  std::string().swap(out.str);
}

}  // namespace

sdk::Reply to_reply(const redisReply& r) {
  sdk::Reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = sdk::Reply::Type::kString;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = sdk::Reply::Type::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = sdk::Reply::Type::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = sdk::Reply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = sdk::Reply::Type::kArray;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(to_reply(*r.element[i]));
      break;
    default:  // REDIS_REPLY_NIL
      break;
  }
  return out;
}

Connection Connection::open(const RedisConfig& config, const std::string& address,
                            const TlsContext* tls) {
  const timeval tv = to_timeval(config.connect_timeout);
  Connection conn;
  conn.ctx_.reset(config.unix_socket.empty()
                      ? redisConnectWithTimeout(config.host.c_str(), config.port, tv)
                      : redisConnectUnixWithTimeout(config.unix_socket.c_str(), tv));
  if (!conn.ctx_)
    throw sdk::ConnectionError("cannot connect to redis at " + address + ": out of memory");
  if (conn.ctx_->err != 0) {
    throw sdk::ConnectionError("cannot connect to redis at " + address + ": " + conn.ctx_->errstr +
                               "; " + kConnectFix);
  }
  if (config.unix_socket.empty()) redisEnableKeepAlive(conn.ctx_.get());
  if (!conn.set_timeout(config.connect_timeout)) conn.fail(errno, address, "connect");
  if (tls != nullptr) {
    conn.tls_ = std::make_unique<TlsStream>(*tls, conn.ctx_->fd, config.connect_timeout, address);
  }

  auto run = [&](std::initializer_list<std::string_view> args, const char* during) {
    ReplyPtr reply = with_argv(std::span<const std::string_view>(args.begin(), args.size()),
                               [&](int argc, const char** argv, const std::size_t* lens) {
                                 return conn.command(argc, argv, lens);
                               });
    if (!reply) {
      const int err = errno;
      if (tls != nullptr && config.tls_options.cert_file.empty() && err != EAGAIN &&
          err != EWOULDBLOCK && err != EPROTO) {
        // TLS 1.3 servers check the client certificate after the client's handshake is done: a
        // refusal shows up here, as a reset that may overtake the server's alert.
        throw sdk::ConnectionError(
            "redis at " + address + " closed the TLS connection right after the handshake (" +
            during + ": " + (conn.tls_->error().empty() ? std::strerror(err) : conn.tls_->error()) +
            "); if the server requires client certificates (redis-server `tls-auth-clients`), "
            "set `redis.tls.cert_file` and `redis.tls.key_file`");
      }
      conn.fail(err, address, during);
    }
    return reply;
  };

  bool verified = false;
  if (!config.password.empty() || !config.username.empty()) {
    ReplyPtr auth = config.username.empty()
                        ? run({"AUTH", config.password}, "AUTH")
                        : run({"AUTH", config.username, config.password}, "AUTH");
    if (auth->type == REDIS_REPLY_ERROR) {
      throw sdk::ConnectionError("redis at " + address +
                                 " refused the credentials: " + reply_text(*auth) +
                                 "; fix `password` (and `username`) in the `redis` section of the "
                                 "Lithops config");
    }
    verified = true;
  }
  if (config.db != 0) {
    const std::string db = std::to_string(config.db);
    ReplyPtr select = run({"SELECT", db}, "SELECT");
    if (select->type == REDIS_REPLY_ERROR) {
      if (std::strncmp(select->str, "NOAUTH", 6) == 0) {
        throw sdk::ConnectionError("redis at " + address +
                                   " requires a password: " + reply_text(*select) +
                                   "; set `password` in the `redis` section of the Lithops config");
      }
      throw sdk::ConfigError("redis at " + address + " rejected `redis.db` " + db + ": " +
                             reply_text(*select) + "; fix `db` in the Lithops config");
    }
    verified = true;
  }
  if (!verified) {
    // Nothing was sent yet: make sure the server answers and needs no password.
    ReplyPtr pong = run({"PING"}, "PING");
    if (pong->type == REDIS_REPLY_ERROR) {
      throw sdk::ConnectionError("redis at " + address + " refused PING: " + reply_text(*pong) +
                                 "; set `password` in the `redis` section of the Lithops config");
    }
  }
  return conn;
}

bool Connection::set_timeout(milliseconds timeout) {
  if (timeout == timeout_) return true;
  // hiredis 0.14's redisSetTimeout only calls setsockopt(SO_RCVTIMEO/SO_SNDTIMEO).
  if (redisSetTimeout(ctx_.get(), to_timeval(timeout)) != REDIS_OK) {
    timeout_ = milliseconds(-1);
    return false;
  }
  timeout_ = timeout;
  return true;
}

void Connection::append(int argc, const char** argv, const std::size_t* lens) {
  // RESP: *<argc>\r\n then $<len>\r\n<bytes>\r\n per argument.
  auto put_number = [this](char prefix, std::size_t n) {
    char buf[24];
    buf[0] = prefix;
    char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n).ptr;
    *end++ = '\r';
    *end++ = '\n';
    out_.append(buf, end);
  };
  put_number('*', static_cast<std::size_t>(argc));
  for (int i = 0; i < argc; ++i) {
    put_number('$', lens[i]);
    out_.append(argv[i], lens[i]);
    out_.append("\r\n", 2);
  }
}

bool Connection::flush() {
  const char* p = out_.data();
  std::size_t left = out_.size();
  if (tls_ != nullptr) {
    if (!tls_->write_all(p, left)) return false;
    left = 0;
  }
  while (left > 0) {
    const ssize_t n = ::send(ctx_->fd, p, left, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  // Keep a small buffer for the next command; give back what a huge value made it grow to.
  constexpr std::size_t kKeep = 64 * 1024;
  if (out_.capacity() > kKeep) {
    std::string().swap(out_);
  } else {
    out_.clear();
  }
  return true;
}

bool Connection::fill() {
  if (tls_ == nullptr) return redisBufferRead(ctx_.get()) == REDIS_OK;
  char buf[16 * 1024];  // one TLS record at most
  const long n = tls_->read(buf, sizeof buf);
  if (n < 0) return false;
  if (redisReaderFeed(ctx_->reader, buf, static_cast<std::size_t>(n)) != REDIS_OK) {
    errno = ENOMEM;
    return false;
  }
  return true;
}

ReplyPtr Connection::read_reply() {
  void* raw = nullptr;
  if (tls_ == nullptr) {
    // With hiredis' own output buffer empty, redisGetReply only reads.
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK) return nullptr;
    return ReplyPtr(static_cast<redisReply*>(raw));
  }
  // hiredis reads the socket itself; over TLS we feed its reader with decrypted bytes.
  redisContext* c = ctx_.get();
  for (;;) {
    if (redisReaderGetReply(c->reader, &raw) != REDIS_OK) {
      c->err = c->reader->err;
      std::snprintf(c->errstr, sizeof c->errstr, "%s", c->reader->errstr);
      errno = EPROTO;
      return nullptr;
    }
    if (raw != nullptr) return ReplyPtr(static_cast<redisReply*>(raw));
    if (!fill()) return nullptr;
  }
}

bool Connection::read_reply_into(std::span<std::byte> dest, sdk::Reply& out) {
  redisContext* c = ctx_.get();
  redisReader* r = c->reader;
  // Socket bytes straight into the iovecs: recvmsg, or TLS records decrypted into them.
  auto receive = [&](iovec* iov, int n) {
    if (tls_ == nullptr) return recv_all(c->fd, iov, n);
    for (int i = 0; i < n; ++i) {
      if (!tls_->read_exact(iov[i].iov_base, iov[i].iov_len)) return false;
    }
    return true;
  };
  // The reply's first line, "$<length>\r\n" for a bulk string, from hiredis' buffer (topped up
  // from the socket as needed). Anything else is left to hiredis.
  std::size_t header_end = 0;
  long long length = -2;
  for (;;) {
    const char* begin = r->buf + r->pos;
    const std::size_t avail = r->len - r->pos;
    if (r->err != 0 || (avail > 0 && begin[0] != '$')) break;
    const auto* nl = static_cast<const char*>(std::memchr(begin, '\n', avail));
    if (nl != nullptr) {
      const char* last = nl > begin && nl[-1] == '\r' ? nl - 1 : nl;
      long long n = 0;
      const auto [end, ec] = std::from_chars(begin + 1, last, n);
      if (ec == std::errc() && end == last && n >= -1) {
        length = n;
        header_end = static_cast<std::size_t>(nl + 1 - r->buf);
      }
      break;
    }
    if (avail > 32) break;  // not a length line: hiredis reports the protocol error
    if (!fill()) return false;
  }
  if (length < -1) {
    ReplyPtr reply = read_reply();
    if (!reply) return false;
    out = to_reply(*reply);
    deliver(out, dest);
    return true;
  }
  r->pos = header_end;
  if (length == -1) {
    out = sdk::Reply{};  // nil
  } else {
    // The payload: what hiredis already buffered, then the rest from the socket into `dest`
    // (bytes beyond dest.size() into a scratch buffer), then the closing CRLF.
    const auto total = static_cast<std::size_t>(length);
    const std::size_t keep = std::min(total, dest.size());
    const std::size_t buffered = std::min(r->len - r->pos, total);
    if (keep > 0) std::memcpy(dest.data(), r->buf + r->pos, std::min(buffered, keep));
    r->pos += buffered;
    std::size_t done = buffered;
    char crlf[2] = {0, 0};
    std::size_t crlf_have = 0;
    if (done == total) {
      crlf_have = std::min<std::size_t>(2, r->len - r->pos);
      std::memcpy(crlf, r->buf + r->pos, crlf_have);
      r->pos += crlf_have;
    }
    std::vector<char> scratch;
    while (done < total) {
      iovec iov[2];
      int n = 0;
      std::size_t step = 0;
      if (done < keep) {
        step = keep - done;
        iov[n++] = {dest.data() + done, step};
      } else {
        if (scratch.empty()) scratch.resize(64 << 10);
        step = std::min(total - done, scratch.size());
        iov[n++] = {scratch.data(), step};
      }
      const bool last = done + step == total;
      if (last) iov[n++] = {crlf, 2};
      if (!receive(iov, n)) return false;
      done += step;
      if (last) crlf_have = 2;
    }
    if (crlf_have < 2) {
      iovec iov{crlf + crlf_have, 2 - crlf_have};
      if (!receive(&iov, 1)) return false;
    }
    if (crlf[0] != '\r' || crlf[1] != '\n') {
      errno = EPROTO;
      return false;
    }
    out = sdk::Reply{};
    out.type = sdk::Reply::Type::kString;
    out.integer = length;
  }
  // All buffered bytes consumed: let hiredis drop them (it compacts its buffer on a read).
  if (r->pos == r->len) {
    void* none = nullptr;
    if (redisReaderGetReply(r, &none) != REDIS_OK || none != nullptr) {
      if (none != nullptr) freeReplyObject(none);
      errno = EPROTO;
      return false;
    }
  }
  return true;
}

ReplyPtr Connection::command(int argc, const char** argv, const std::size_t* lens) {
  append(argc, argv, lens);
  if (!flush()) return nullptr;
  return read_reply();
}

void Connection::fail(int saved_errno, const std::string& address, const char* during) const {
  const redisContext* c = ctx_.get();
  const bool io = c->err == REDIS_ERR_IO || c->err == 0;
  if (io && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)) {
    throw sdk::ConnectionError(
        "timed out after " + std::to_string(timeout_.count()) + " ms waiting for redis at " +
        address + " (" + during +
        "); the server did not answer in time: is it overloaded or stopped?");
  }
  if (c->err == 0 && tls_ != nullptr && saved_errno == EPROTO && !tls_->error().empty()) {
    // A TLS failure that names its fix (a client certificate the server wants, ...).
    throw sdk::ConnectionError("redis at " + address + " (" + during + "): " + tls_->error());
  }
  // c->err is set when hiredis failed (reading); otherwise our send() (or TLS) did.
  const std::string why = c->err != 0                                 ? std::string(c->errstr)
                          : tls_ != nullptr && !tls_->error().empty() ? tls_->error()
                                                                      : std::strerror(saved_errno);
  throw sdk::ConnectionError("connection to redis at " + address + " lost (" + during +
                             "): " + why + "; check that redis-server is running");
}

}  // namespace lithops::plugins::redis
