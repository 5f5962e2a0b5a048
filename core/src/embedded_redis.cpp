#include "embedded_redis.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <thread>
#include <vector>

#include "lithops/multiprocessing/errors.hpp"

extern char** environ;

namespace lithops::multiprocessing::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kNotFoundMessage =
    "redis-server was not found on PATH; install it with `apt-get install redis-server` "
    "(Debian/Ubuntu), or configure an existing server in the `redis` section of the Lithops config";

std::string errno_text(int err) { return std::strerror(err); }

std::string find_on_path(const char* name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  std::string_view rest(path);
  while (true) {
    const auto colon = rest.find(':');
    // POSIX: an empty PATH entry means the current directory. Built from views: GCC 12 reports a
    // false -Wrestrict at -O3 for `dir + "/" + name` after `dir = "."` on a std::string.
    std::string_view dir = rest.substr(0, colon);
    if (dir.empty()) dir = ".";
    const std::string candidate = (std::filesystem::path(dir) / name).string();
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) return {};
    rest.remove_prefix(colon + 1);
  }
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ConfigError("cannot open /dev/urandom: " + errno_text(errno));
  std::size_t got = 0;
  while (got < bytes) {
    const ssize_t n = ::read(fd, raw.data() + got, bytes - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      throw ConfigError("cannot read /dev/urandom: " + errno_text(err));
    }
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : raw) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string make_private_dir() {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string base = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  // A Unix socket path must fit in sun_path; a deep $TMPDIR would make bind() fail later.
  constexpr std::string_view kLongest = "/lithops-redis-XXXXXX/redis.sock";
  if (base.size() + kLongest.size() >= sizeof(sockaddr_un{}.sun_path)) base = "/tmp";
  std::string templ = base + "/lithops-redis-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    throw ConfigError("cannot create a temporary directory for the embedded redis-server under " +
                      base + ": " + errno_text(errno) + "; set TMPDIR to a writable directory");
  }
  return templ;  // mkdtemp creates it with mode 0700
}

int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ConfigError("cannot create a socket: " + errno_text(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw ConfigError("cannot find a free TCP port on 127.0.0.1: " + errno_text(err));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A redis.conf string argument: double-quoted, with the escapes redis understands.
std::string conf_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void write_private_file(const std::string& path, std::string_view content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw ConfigError("cannot write " + path + ": " + errno_text(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw ConfigError("cannot write " + path + ": " + errno_text(err));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

// Moves a descriptor above stdio so the watchdog can point 0-2 at /dev/null without clobbering it
// (a driver that closed its stdin would otherwise get fd 0 from pipe2()).
int above_stdio(int fd) {
  if (fd > STDERR_FILENO) return fd;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  ::close(fd);
  if (moved < 0) throw ConfigError("fcntl(F_DUPFD_CLOEXEC) failed: " + errno_text(errno));
  return moved;
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Reaps `pid` if it exits within `timeout`. ECHILD (someone else reaped it, or SIGCHLD is ignored)
// counts as exited.
bool wait_child(pid_t pid, milliseconds timeout) {
  const int pidfd = pidfd_open(pid);
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    const auto deadline = Clock::now() + timeout;
    while (true) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      const int n = ::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    ::close(pidfd);
  }
  // Without a pidfd (old kernel, seccomp), poll waitpid with a growing sleep.
  auto nap = milliseconds(1);
  const auto deadline = Clock::now() + (pidfd >= 0 ? milliseconds(0) : timeout);
  while (true) {
    const pid_t r = ::waitpid(pid, nullptr, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, milliseconds(20));
  }
}

// ---- Code that runs between fork() and exec()/_exit(). ----------------------------------------
// The driver may be multithreaded, so everything below calls only async-signal-safe functions
// (plain syscalls) and touches only memory prepared before fork().

volatile sig_atomic_t g_watchdog_stop = 0;

void on_stop_signal(int) { g_watchdog_stop = 1; }

void write_str(int fd, const char* s) {
  std::size_t len = std::strlen(s);
  while (len > 0) {
    const ssize_t n = ::write(fd, s, len);
    if (n <= 0) return;
    s += n;
    len -= static_cast<std::size_t>(n);
  }
}

void write_int(int fd, long value) {
  char buf[24];
  char* p = buf + sizeof(buf);
  *--p = '\0';
  const bool neg = value < 0;
  unsigned long v =
      neg ? 0UL - static_cast<unsigned long>(value) : static_cast<unsigned long>(value);
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (neg) *--p = '-';
  write_str(fd, p);
}

// Closes every descriptor >= 3 except `keep_a` and `keep_b` (both >= 3, or -1).
void close_fds_except(int keep_a, int keep_b) {
  int keep[2] = {std::min(keep_a, keep_b), std::max(keep_a, keep_b)};
  unsigned lo = STDERR_FILENO + 1;
  for (int k : keep) {
    if (k < 0) continue;
    if (static_cast<unsigned>(k) > lo) ::close_range(lo, static_cast<unsigned>(k) - 1, 0);
    lo = static_cast<unsigned>(k) + 1;
  }
  if (::close_range(lo, ~0U, 0) != 0) {
    // close_range needs Linux 5.9; fall back to closing one by one.
    for (int fd = static_cast<int>(lo); fd < 65536; ++fd) ::close(fd);
    for (int fd = STDERR_FILENO + 1; fd < keep[1]; ++fd) {
      if (fd != keep[0]) ::close(fd);
    }
  }
}

void reset_signals() {
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the forking thread may have blocked some
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
}

void remove_dir(const char* dir) {
  const int dfd = ::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    alignas(8) char buf[4096];
    while (true) {
      const ssize_t n = ::getdents64(dfd, buf, sizeof(buf));
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        unsigned short reclen;
        std::memcpy(&reclen, buf + off + offsetof(struct dirent64, d_reclen), sizeof(reclen));
        const char* name = buf + off + offsetof(struct dirent64, d_name);
        off += reclen;
        if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
        if (::unlinkat(dfd, name, 0) != 0) ::unlinkat(dfd, name, AT_REMOVEDIR);
      }
    }
    ::close(dfd);
  }
  ::rmdir(dir);
}

void stop_server(pid_t pid, int pidfd) {
  ::kill(pid, SIGTERM);
  bool exited = false;
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    while (::poll(&p, 1, 2000) < 0 && errno == EINTR) {
    }
    exited = ::waitpid(pid, nullptr, WNOHANG) == pid;
  } else {
    const timespec nap{0, 10'000'000};
    for (int i = 0; i < 200 && !exited; ++i) {
      exited = ::waitpid(pid, nullptr, WNOHANG) == pid;
      if (!exited) ::nanosleep(&nap, nullptr);
    }
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

struct WatchdogArgs {
  int keepalive_fd;  // read end: EOF means the driver is gone or wants the server stopped
  int status_fd;     // write end: the watchdog reports redis-server's pid here
  const char* server_path;
  char* const* argv;
  char* const* envp;
  const char* log_path;
  const char* dir;
};

[[noreturn]] void exec_server(const WatchdogArgs& a, pid_t watchdog) {
  // If the watchdog dies without cleaning up (SIGKILL), the server follows it.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != watchdog) ::_exit(1);
  const int null_fd = ::open("/dev/null", O_RDONLY);
  const int log_fd = ::open(a.log_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  if (log_fd >= 0) {
    // Start-up errors printed before redis opens its logfile end up in the log too.
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
  }
  close_fds_except(-1, -1);
  ::execve(a.server_path, a.argv, a.envp);
  const int err = errno;
  write_str(STDERR_FILENO, "lithops: cannot exec ");
  write_str(STDERR_FILENO, a.server_path);
  write_str(STDERR_FILENO, ": errno ");
  write_int(STDERR_FILENO, err);
  write_str(STDERR_FILENO, "\n");
  ::_exit(127);
}

[[noreturn]] void run_watchdog(const WatchdogArgs& a) {
  reset_signals();
  struct sigaction stop {};
  stop.sa_handler = on_stop_signal;
  ::sigemptyset(&stop.sa_mask);
  ::sigaction(SIGTERM, &stop, nullptr);
  ::sigaction(SIGINT, &stop, nullptr);
  ::sigaction(SIGHUP, &stop, nullptr);
  // Own process group: a Ctrl-C aimed at the driver's terminal must not kill the watchdog before
  // it can clean up; it learns about the driver's death from the pipe instead.
  ::setpgid(0, 0);
  const int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    // Don't hold the driver's stdout/stderr open: whoever reads them would wait for us.
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(null_fd, STDERR_FILENO);
  }
  // Drop every inherited descriptor, in particular other watchdogs' keepalive write ends (this
  // child never execs, so O_CLOEXEC does not close them), which would keep those alive forever.
  close_fds_except(a.keepalive_fd, a.status_fd);

  const pid_t self = ::getpid();
  const pid_t server = ::fork();
  if (server == 0) exec_server(a, self);
  const long reported = server < 0 ? -static_cast<long>(errno) : server;
  const pid_t report = static_cast<pid_t>(reported);
  (void)!::write(a.status_fd, &report, sizeof(report));
  ::close(a.status_fd);
  if (server < 0) {
    remove_dir(a.dir);
    ::_exit(1);
  }

  const int pidfd = pidfd_open(server);
  bool server_exited = false;
  while (!g_watchdog_stop) {
    pollfd fds[2] = {{a.keepalive_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    // Without a pidfd, wake up now and then to notice redis-server exiting by itself.
    const int n = ::poll(fds, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 250);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) {
      char byte;
      const ssize_t r = ::read(a.keepalive_fd, &byte, 1);
      if (r >= 0 || (errno != EINTR && errno != EAGAIN)) break;  // EOF, a byte, or an error
    }
    if (pidfd < 0 || fds[1].revents != 0) {
      if (::waitpid(server, nullptr, WNOHANG) == server) {
        server_exited = true;
        break;
      }
    }
  }
  if (!server_exited) stop_server(server, pidfd);
  remove_dir(a.dir);
  ::_exit(0);
}

// ---- readiness check ---------------------------------------------------------------------------

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// Sends with MSG_NOSIGNAL rather than through hiredis, whose write() would raise SIGPIPE in the
// driver if the server died right after accepting the connection.
ReplyPtr command(redisContext* c, const char* a0, const std::string& a1 = {}) {
  const char* argv[2] = {a0, a1.c_str()};
  const std::size_t lens[2] = {std::strlen(a0), a1.size()};
  char* cmd = nullptr;
  const int len = redisFormatCommandArgv(&cmd, a1.empty() ? 1 : 2, argv, lens);
  if (len < 0) return nullptr;
  const ssize_t sent = ::send(c->fd, cmd, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  redisFreeCommand(cmd);
  if (sent != len) return nullptr;  // a probe command is tiny: one send() or failure
  void* reply = nullptr;
  if (redisGetReply(c, &reply) != REDIS_OK) return nullptr;
  return ReplyPtr(static_cast<redisReply*>(reply));
}

// One AUTH + PING attempt; returns an empty string on success, else what went wrong.
std::string probe(const std::string& socket, int port, const std::string& password,
                  milliseconds timeout) {
  const timeval tv{static_cast<time_t>(timeout.count() / 1000),
                   static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ContextPtr c(socket.empty() ? redisConnectWithTimeout("127.0.0.1", port, tv)
                              : redisConnectUnixWithTimeout(socket.c_str(), tv));
  if (!c) return "out of memory";
  if (c->err != 0) return c->errstr;
  redisSetTimeout(c.get(), tv);
  ReplyPtr auth = command(c.get(), "AUTH", password);
  if (!auth) return c->err != 0 ? c->errstr : "connection lost";
  if (auth->type == REDIS_REPLY_ERROR) return std::string(auth->str, auth->len);
  ReplyPtr pong = command(c.get(), "PING");
  if (!pong) return c->err != 0 ? c->errstr : "connection lost";
  if (pong->type != REDIS_REPLY_STATUS || std::string_view(pong->str, pong->len) != "PONG") {
    return "unexpected reply to PING";
  }
  return {};
}

}  // namespace

std::unique_ptr<EmbeddedRedis> EmbeddedRedis::start(const Options& options) {
  const std::string server = find_on_path("redis-server");
  if (server.empty()) throw ConfigError(kNotFoundMessage);
  const auto deadline = Clock::now() + options.start_timeout;
  // In tcp mode another process may take the free port before redis binds it: try again.
  const int attempts = options.tcp ? 3 : 1;
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<EmbeddedRedis> redis(new EmbeddedRedis());
    try {
      redis->launch(server, options);
      redis->wait_ready(deadline);
      return redis;
    } catch (const ConfigError&) {
      if (attempt >= attempts || Clock::now() >= deadline) throw;
    }
  }
}

void EmbeddedRedis::launch(const std::string& server_path, const Options& options) {
  dir_ = make_private_dir();
  password_ = random_hex(16);
  log_path_ = dir_ + "/redis.log";
  std::string conf = "daemonize no\nsave \"\"\nappendonly no\nloglevel notice\n";
  if (options.tcp) {
    port_ = free_tcp_port();
    conf += "bind 127.0.0.1\nport " + std::to_string(port_) + "\n";
  } else {
    unix_socket_ = dir_ + "/redis.sock";
    conf += "port 0\nunixsocket " + conf_quote(unix_socket_) + "\nunixsocketperm 700\n";
  }
  // The password goes in a 0600 file in the 0700 dir rather than on the command line, where any
  // local user could read it from /proc/<pid>/cmdline.
  conf += "requirepass " + conf_quote(password_) + "\n";
  conf += "dir " + conf_quote(dir_) + "\nlogfile " + conf_quote(log_path_) + "\n";
  const std::string conf_path = dir_ + "/redis.conf";
  write_private_file(conf_path, conf);

  // Everything the children use is prepared here: after fork() they may not allocate.
  std::string arg0 = "redis-server";
  std::vector<char*> argv = {arg0.data(), const_cast<char*>(conf_path.c_str()), nullptr};

  int keepalive[2];
  int status[2];
  if (::pipe2(keepalive, O_CLOEXEC) != 0) throw ConfigError("pipe2 failed: " + errno_text(errno));
  keepalive[0] = above_stdio(keepalive[0]);
  keepalive[1] = above_stdio(keepalive[1]);
  keepalive_fd_ = keepalive[1];  // from here on stop() closes it
  if (::pipe2(status, O_CLOEXEC) != 0) {
    ::close(keepalive[0]);
    throw ConfigError("pipe2 failed: " + errno_text(errno));
  }
  status[0] = above_stdio(status[0]);
  status[1] = above_stdio(status[1]);

  const WatchdogArgs args{keepalive[0], status[1],         server_path.c_str(), argv.data(),
                          environ,      log_path_.c_str(), dir_.c_str()};
  const pid_t pid = ::fork();
  if (pid == 0) run_watchdog(args);
  const int fork_errno = errno;
  ::close(keepalive[0]);
  ::close(status[1]);
  if (pid < 0) {
    ::close(status[0]);
    throw ConfigError("cannot fork the embedded redis watchdog: " + errno_text(fork_errno));
  }
  watchdog_pid_ = pid;

  // The watchdog reports redis-server's pid (or -errno of its failed fork) right away.
  pid_t reported = 0;
  ssize_t got = -1;
  pollfd p{status[0], POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, static_cast<int>(options.start_timeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready > 0) {
    do {
      got = ::read(status[0], &reported, sizeof(reported));
    } while (got < 0 && errno == EINTR);
  }
  ::close(status[0]);
  if (got != static_cast<ssize_t>(sizeof(reported)) || reported <= 0) {
    throw ConfigError("the embedded redis watchdog could not start redis-server" +
                      (reported < 0 ? ": " + errno_text(-reported) : std::string()));
  }
  redis_pid_ = reported;
}

void EmbeddedRedis::wait_ready(Clock::time_point deadline) {
  std::string last_error = "no attempt made";
  auto nap = milliseconds(2);
  while (true) {
    const pid_t r = ::waitpid(watchdog_pid_, nullptr, WNOHANG);
    if (r == watchdog_pid_ || (r < 0 && errno == ECHILD)) {
      watchdog_pid_ = -1;  // reaped: stop() must not wait for it
      throw ConfigError("the embedded redis-server exited during start-up; its log ends with:\n" +
                        log_tail());
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    last_error = probe(unix_socket_, port_, password_, std::min(left, milliseconds(500)));
    if (last_error.empty()) return;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, milliseconds(50));
  }
  throw ConfigError("the embedded redis-server did not answer AUTH + PING in time (" + last_error +
                    "); configure an existing server in the `redis` section of the " +
                    "Lithops config to avoid starting one; its log ends with:\n" + log_tail());
}

std::string EmbeddedRedis::log_tail() const {
  const int fd = ::open(log_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "(no log at " + log_path_ + ")";
  constexpr off_t kTail = 4096;
  const off_t size = ::lseek(fd, 0, SEEK_END);
  const off_t from = std::max<off_t>(0, size - kTail);
  std::string text(static_cast<std::size_t>(size - from), '\0');
  const ssize_t n = ::pread(fd, text.data(), text.size(), from);
  ::close(fd);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  // Keep the last 20 lines.
  std::size_t pos = text.size();
  for (int lines = 0; lines <= 20 && pos != std::string::npos && pos > 0;) {
    pos = text.rfind('\n', pos - 1);
    if (pos != std::string::npos) ++lines;
  }
  if (pos != std::string::npos && pos > 0) text.erase(0, pos + 1);
  return text.empty() ? "(log is empty)" : text;
}

boost::json::object EmbeddedRedis::redis_config() const {
  boost::json::object cfg;
  if (unix_socket_.empty()) {
    cfg["host"] = "127.0.0.1";
    cfg["port"] = port_;
  } else {
    cfg["unix_socket"] = unix_socket_;
  }
  cfg["password"] = password_;
  return cfg;
}

void EmbeddedRedis::stop() noexcept {
  if (keepalive_fd_ >= 0) {
    ::close(keepalive_fd_);  // EOF tells the watchdog to stop redis-server and clean up
    keepalive_fd_ = -1;
  }
  if (watchdog_pid_ > 0 && !wait_child(watchdog_pid_, milliseconds(5000))) {
    // The watchdog is stuck (stopped by a debugger?): do its job.
    ::kill(watchdog_pid_, SIGKILL);
    if (redis_pid_ > 0) ::kill(redis_pid_, SIGKILL);
    while (::waitpid(watchdog_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  watchdog_pid_ = -1;
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);  // normally already gone
  }
}

EmbeddedRedis::~EmbeddedRedis() { stop(); }

}  // namespace lithops::multiprocessing::detail
