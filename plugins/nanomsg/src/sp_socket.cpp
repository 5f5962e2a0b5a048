#include "sp_socket.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string_view>
#include <system_error>

namespace lithops::plugins::nanomsg::sp {
namespace {
// Blocking-with-deadline transfers on a non-blocking socket, for the 8-byte handshake.
bool transfer(int fd, unsigned char* buf, std::size_t size, bool out, Clock::time_point deadline) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = out ? ::send(fd, buf + done, size - done, MSG_NOSIGNAL)
                          : ::recv(fd, buf + done, size - done, 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0 && !out) return false;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    pollfd p{fd, static_cast<short>(out ? POLLOUT : POLLIN), 0};
    if (Clock::now() >= deadline) return false;
    ::poll(&p, 1, ms_until(deadline));
  }
  return true;
}

// "tcp://host:port" or "tcp://[v6]:port".
bool parse_url(const std::string& url, std::string& host, std::string& port) {
  constexpr std::string_view kScheme = "tcp://";
  if (url.rfind(kScheme, 0) != 0) return false;
  const std::string rest = url.substr(kScheme.size());
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) return false;
  host = rest.substr(0, colon);
  port = rest.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return !host.empty() && !port.empty();
}
}  // namespace

void put_be(unsigned char* p, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<unsigned char>(v & 0xff);
}

std::uint64_t get_be(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

int ms_until(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, INT_MAX));
}

std::string errno_text(int err) { return std::system_category().message(err); }

void set_nodelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// Both sides send their header, then check the peer's: it must be SP and PAIR v1.
bool handshake(int fd, Clock::time_point deadline, std::string& why) {
  unsigned char mine[8] = {0, 'S', 'P', 0, 0, 0, 0, 0};
  put_be(mine + 4, kPair1, 2);
  if (!transfer(fd, mine, sizeof(mine), true, deadline)) {
    why = "the SP handshake could not be sent";
    return false;
  }
  unsigned char theirs[8];
  if (!transfer(fd, theirs, sizeof(theirs), false, deadline)) {
    why = "the peer sent no SP handshake (is it a nanomsg/NNG PAIR socket?)";
    return false;
  }
  if (theirs[0] != 0 || theirs[1] != 'S' || theirs[2] != 'P' || theirs[3] != 0 || theirs[6] != 0 ||
      theirs[7] != 0) {
    why = "the peer does not speak the SP protocol";
    return false;
  }
  if (get_be(theirs + 4, 2) != kPair1) {
    why = "the peer is an SP socket of protocol " + std::to_string(get_be(theirs + 4, 2)) +
          ", not PAIR v1 (" + std::to_string(kPair1) + ")";
    return false;
  }
  return true;
}

int listen_tcp(const std::string& bind, int port_min, int port_max, int& bound_port,
               std::string& error) {
  int fd = -1;
  int err = EADDRINUSE;
  int port = port_min;
  for (; port <= port_max && fd < 0 && err == EADDRINUSE; ++port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const int gai = ::getaddrinfo(bind.c_str(), std::to_string(port).c_str(), &hints, &found);
    if (gai != 0) {
      error = "cannot resolve '" + bind + "': " + ::gai_strerror(gai);
      return -1;
    }
    for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
      fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) {
        err = errno;
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 16) != 0) {
        err = errno;
        ::close(fd);
        fd = -1;
      }
    }
    ::freeaddrinfo(found);
  }
  if (fd < 0) {
    error = errno_text(err);
    return -1;
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

int dial_tcp(const std::string& url, Clock::time_point deadline, std::string& why) {
  std::string host, port;
  if (!parse_url(url, host, port)) {
    why = "the published address '" + url + "' is not a tcp:// URL";
    return -1;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int gai = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); gai != 0) {
    why = "cannot resolve '" + host + "': " + ::gai_strerror(gai);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = errno_text(errno);
      continue;
    }
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, ms_until(deadline)) == 1) {
          socklen_t len = sizeof(err);
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        } else {
          err = ETIMEDOUT;
        }
      }
    }
    if (err == 0) {
      set_nodelay(fd);
      if (handshake(fd, deadline, why)) break;
    } else {
      why = "connecting to " + url + ": " + errno_text(err);
    }
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  return fd;
}

int listen_ipc(const std::string& path, std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    error = "the socket path '" + path + "' is too long";
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errno_text(errno);
    return -1;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 16) != 0) {
    error = errno_text(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

int dial_ipc(const std::string& url, Clock::time_point deadline, std::string& why) {
  constexpr std::string_view kScheme = "ipc://";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = url.rfind(kScheme, 0) == 0 ? url.substr(kScheme.size()) : "";
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    why = "'" + url + "' is not an ipc:// URL";
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = errno_text(errno);
    return -1;
  }
  // A Unix socket connects at once or fails (EAGAIN: the listener's backlog is full).
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    why = "connecting to " + url + ": " + errno_text(errno);
    ::close(fd);
    return -1;
  }
  if (!handshake(fd, deadline, why)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace lithops::plugins::nanomsg::sp
