// The latency floor under the nanomsg pipe transport, outside the project's code: a ping-pong of
// 8-byte messages between two processes (fork) over raw NNG PAIR1 sockets, on tcp:// and ipc://,
// receiving either in nng_recvmsg (blocking) or in an aio callback handing over to the waiting
// thread with a condition variable (what the plugin does), next to a kernel socketpair (what
// CPython's multiprocessing.Pipe uses) and a TCP loopback connection (what the transport's direct
// engine uses), each with blocking reads and with poll() before every read. Prints one JSON line
// per variant: median and p10 in us.
//
// Usage: pipe_floor [round_trips]   (not run by tools/bench/run.py; see docs/pipes.md)
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace {
using Clock = std::chrono::steady_clock;
constexpr int kWarmup = 200;

void check(int rv, const char* what) {
  if (rv != 0) {
    std::fprintf(stderr, "pipe_floor: %s: %s\n", what, nng_strerror(rv));
    std::exit(1);
  }
}

void report(const std::string& variant, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  std::printf("{\"variant\": \"%s\", \"median_us\": %.1f, \"p10_us\": %.1f}\n", variant.c_str(),
              us[us.size() / 2], us[us.size() / 10]);
  std::fflush(stdout);
}

// One end: a PAIR1 socket whose receives are blocking calls or an aio callback + condvar.
class End {
 public:
  explicit End(bool aio) : use_aio_(aio) {
    check(nng_pair1_open(&socket_), "nng_pair1_open");
    if (use_aio_) check(nng_aio_alloc(&aio_, &End::on_recv, this), "nng_aio_alloc");
  }
  ~End() {
    if (aio_) nng_aio_stop(aio_);
    nng_close(socket_);
    if (aio_) nng_aio_free(aio_);
    for (auto* m : inbox_) nng_msg_free(m);
  }
  void listen(const std::string& url) {
    check(nng_listen(socket_, url.c_str(), nullptr, 0), "listen");
  }
  void dial(const std::string& url) {
    check(nng_dial(socket_, url.c_str(), nullptr, NNG_FLAG_NONBLOCK), "dial");
  }
  void start() {
    if (use_aio_) nng_recv_aio(socket_, aio_);
  }
  void send(nng_msg* m) { check(nng_sendmsg(socket_, m, 0), "send"); }
  nng_msg* recv() {
    if (!use_aio_) {
      nng_msg* m = nullptr;
      check(nng_recvmsg(socket_, &m, 0), "recv");
      return m;
    }
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !inbox_.empty(); });
    nng_msg* m = inbox_.front();
    inbox_.pop_front();
    return m;
  }

 private:
  static void on_recv(void* arg) {
    auto* self = static_cast<End*>(arg);
    if (nng_aio_result(self->aio_) != 0) return;
    {
      std::lock_guard lock(self->mutex_);
      self->inbox_.push_back(nng_aio_get_msg(self->aio_));
    }
    self->cv_.notify_one();
    nng_recv_aio(self->socket_, self->aio_);
  }

  bool use_aio_;
  nng_socket socket_ = NNG_SOCKET_INITIALIZER;
  nng_aio* aio_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<nng_msg*> inbox_;
};

// A free TCP port on the loopback (asked of the kernel; NNG must not run before fork()).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::exit(1);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Both ends run in children of their own (NNG panics in a process that forks after using it).
void nng_variant(const std::string& url, bool aio, int n) {
  const pid_t measurer = ::fork();
  if (measurer == 0) {
    std::vector<double> us;
    {
      End e(aio);
      e.listen(url);
      e.start();
      for (int i = 0; i < n + kWarmup; ++i) {
        nng_msg* m = nullptr;
        check(nng_msg_alloc(&m, 8), "nng_msg_alloc");
        const auto t0 = Clock::now();
        e.send(m);
        m = e.recv();
        const auto t1 = Clock::now();
        nng_msg_free(m);
        if (i >= kWarmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    }
    report(
        std::string("nng ") + url.substr(0, url.find(':')) + (aio ? " aio+condvar" : " blocking"),
        std::move(us));
    ::_exit(0);
  }
  const pid_t echoer = ::fork();
  if (echoer == 0) {
    End e(aio);
    e.dial(url);
    e.start();
    for (int i = 0; i < n + kWarmup; ++i) e.send(e.recv());
    ::usleep(200000);  // let the last reply leave before the socket closes
    ::_exit(0);
  }
  ::waitpid(measurer, nullptr, 0);
  ::waitpid(echoer, nullptr, 0);
}

// A connected pair of sockets: AF_UNIX (what CPython's Pipe uses) or TCP on the loopback with
// TCP_NODELAY (what the nanomsg transport's direct engine uses).
void socket_pair(bool tcp, int sv[2]) {
  if (!tcp) {
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) std::exit(1);
    return;
  }
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::exit(1);
  }
  sv[0] = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(sv[0], reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::exit(1);
  sv[1] = ::accept(listener, nullptr, nullptr);
  ::close(listener);
  const int one = 1;
  for (int i = 0; i < 2; ++i) ::setsockopt(sv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Ping-pong of 8-byte messages over a kernel socket pair; with `poll_first` every read waits in
// poll() first, as the direct engine does (its waits need a timeout and a wake-up).
void kernel_variant(bool tcp, bool poll_first, int n) {
  int sv[2];
  socket_pair(tcp, sv);
  char buf[8] = {};
  auto read_one = [&](int fd) {
    if (poll_first) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, -1) != 1) return false;
    }
    return ::read(fd, buf, sizeof buf) == sizeof buf;
  };
  const pid_t child = ::fork();
  if (child == 0) {
    for (int i = 0; i < n + kWarmup; ++i) {
      if (!read_one(sv[1])) ::_exit(1);
      if (::write(sv[1], buf, sizeof buf) != sizeof buf) ::_exit(1);
    }
    ::_exit(0);
  }
  std::vector<double> us;
  for (int i = 0; i < n + kWarmup; ++i) {
    const auto t0 = Clock::now();
    if (::write(sv[0], buf, sizeof buf) != sizeof buf) std::exit(1);
    if (!read_one(sv[0])) std::exit(1);
    const auto t1 = Clock::now();
    if (i >= kWarmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  ::waitpid(child, nullptr, 0);
  ::close(sv[0]);
  ::close(sv[1]);
  report(std::string(tcp ? "tcp loopback" : "socketpair") + (poll_first ? " poll+read" : "") +
             (tcp || poll_first ? "" : " (kernel floor, CPython's Pipe)"),
         std::move(us));
}
}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20000;
  const std::string ipc = "ipc:///tmp/lithops-pipe-floor-" + std::to_string(::getpid()) + ".ipc";
  for (bool tcp : {false, true}) {
    for (bool poll_first : {false, true}) kernel_variant(tcp, poll_first, n);
  }
  for (bool aio : {false, true}) {
    nng_variant("tcp://127.0.0.1:" + std::to_string(free_port()), aio, n);
    nng_variant(ipc, aio, n);
  }
  ::unlink(ipc.c_str() + 6);
  return 0;
}
