#include "direct_end.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <random>
#include <system_error>

#include "lithops/sdk/blocking.hpp"
#include "lithops/sdk/errors.hpp"
#include "rendezvous.hpp"
#include "sp_socket.hpp"

namespace lithops::plugins::nanomsg {
namespace {
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using sp::errno_text;
using sp::get_be;
using sp::ms_until;
using sp::put_be;

constexpr std::size_t kHeadSize = 13;            // length (8) + hop count (4) + our frame type (1)
constexpr std::size_t kMaxPending = 64u << 20;   // kept while there is no connection
constexpr std::uint64_t kMaxFrame = 1ull << 40;  // a larger length means a broken stream
constexpr std::size_t kReadChunk = 256u << 10;   // small messages: many per read
constexpr std::size_t kDirectRead = 8u << 10;    // a body part this large is read in place
constexpr auto kFresh = std::chrono::microseconds(20);  // see send()

// One SP message: the length, PAIR v1's hop count (1: NNG counts the hop when it sends), our
// frame type; the body follows.
void make_head(unsigned char* head, char type, std::size_t body) {
  put_be(head, body + 5, 8);
  put_be(head + 8, 1, 4);
  head[12] = static_cast<unsigned char>(type);
}

// Frames kept in out_ are in the TCP framing; an ipc:// connection puts a type byte (1) before
// each length.
std::string to_ipc(const std::string& frames) {
  std::string out;
  out.reserve(frames.size() + frames.size() / kHeadSize + 1);
  std::size_t at = 0;
  while (at + 8 <= frames.size()) {
    const auto len = static_cast<std::size_t>(
        get_be(reinterpret_cast<const unsigned char*>(frames.data() + at), 8));
    out.push_back(static_cast<char>(sp::kIpcMessage));
    out.append(frames, at, 8 + len);
    at += 8 + len;
  }
  return out;
}

Clock::time_point deadline_after(std::optional<std::chrono::milliseconds> timeout) {
  if (!timeout) return Clock::time_point::max();
  if (*timeout > std::chrono::hours(24 * 365)) return Clock::time_point::max();
  return Clock::now() + std::max(*timeout, std::chrono::milliseconds::zero());
}

void signal_fd(int fd) {
  const std::uint64_t one = 1;
  if (fd < 0) return;
  [[maybe_unused]] const auto n = ::write(fd, &one, sizeof(one));
}

void clear_fd(int fd) {
  std::uint64_t v;
  if (fd < 0) return;
  [[maybe_unused]] const auto n = ::read(fd, &v, sizeof(v));
}
}  // namespace

DirectEnd::DirectEnd(sdk::StateStore& store, std::string pipe_id, int end, const Options& options,
                     std::string expiry_seconds)
    : store_(store),
      pipe_id_(std::move(pipe_id)),
      end_(end),
      options_(options),
      expiry_(std::move(expiry_seconds)),
      keys_(pipe_id_, end) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  helper_wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0 || helper_wake_fd_ < 0) {
    const int err = errno;
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (helper_wake_fd_ >= 0) ::close(helper_wake_fd_);
    throw sdk::ConnectionError(where() + ": eventfd: " + errno_text(err));
  }
}

DirectEnd::~DirectEnd() {
  // Not a close (the end may be attached elsewhere next): tell the peer this process lets go
  // ('F', so it waits for the end to come back instead of seeing EOF), and let what was sent
  // reach it, bounded by linger.
  if (!close_called_ && connected_) {
    try {
      finish('F');
    } catch (const std::exception&) {
      // Destructors do not throw; teardown() below releases everything.
    }
  }
  teardown();
  ::close(wake_fd_);
  ::close(helper_wake_fd_);
}

std::string DirectEnd::where() const {
  return "nanomsg pipe " + pipe_id_ + " end " + std::to_string(end_);
}

void DirectEnd::unreachable(const std::string& why) const {
  throw sdk::ConnectionError(unreachable_text(where(), why));
}

void DirectEnd::wake() { signal_fd(wake_fd_); }

// ---- connecting ------------------------------------------------------------------------------

void DirectEnd::connect() {
  if (connected_.load(std::memory_order_acquire)) return;
  std::lock_guard guard(connect_mutex_);
  if (connected_) return;
  const std::string role = claim_role(store_, keys_, end_, expiry_);
  if (role == "eof") {
    std::lock_guard lock(mutex_);
    peer_eof_ = true;
  } else if (role == "listen") {
    listen_and_publish();
  } else {
    dial_initial();
  }
  connected_.store(true, std::memory_order_release);
}

void DirectEnd::listen_and_publish() {
  int bound_port = 0;
  std::string error;
  const int fd =
      sp::listen_tcp(options_.bind, options_.port_min, options_.port_max, bound_port, error);
  if (fd < 0) {
    throw sdk::ConnectionError(where() + ": cannot listen on " + options_.bind + " ports " +
                               std::to_string(options_.port_min) + "-" +
                               std::to_string(options_.port_max) + ": " + error +
                               " (config section 'nanomsg': bind, port_min, port_max)");
  }
  const std::string url = tcp_url(options_.host, bound_port);
  // Same-host peers connect over a Unix socket instead (a randomly named path: a peer on another
  // host does not find it and dials TCP).
  int ipc_fd = -1;
  std::string ipc_path;
  if (options_.ipc) {
    std::random_device random;
    char name[64];
    std::snprintf(name, sizeof(name), "/tmp/lithops-nn-%d-%08x%08x.sock",
                  static_cast<int>(::getpid()), random(), random());
    ipc_path = name;
    ipc_fd = sp::listen_ipc(ipc_path, error);
  }
  try {
    std::vector<sdk::Command> publish{{"DEL", keys_.addr, keys_.ipc}};
    if (ipc_fd >= 0) publish.push_back({"SET", keys_.ipc, "ipc://" + ipc_path, "EX", expiry_});
    publish.push_back({"RPUSH", keys_.addr, url});
    publish.push_back({"EXPIRE", keys_.addr, expiry_});
    for (const auto& r : store_.execute_pipeline(publish, sdk::kCommandTimeout)) {
      if (r.is_error()) throw sdk::ConnectionError(where() + ": publishing the address: " + r.str);
    }
  } catch (...) {
    ::close(fd);
    if (ipc_fd >= 0) {
      ::close(ipc_fd);
      ::unlink(ipc_path.c_str());
    }
    throw;
  }
  std::lock_guard lock(mutex_);
  listener_ = true;
  listen_fd_ = fd;
  ipc_listen_fd_ = ipc_fd;
  if (ipc_fd >= 0) ipc_path_ = ipc_path;
  start_helper_locked();  // accepts the peer in the background
}

void DirectEnd::dial_initial() {
  // The listener publishes right after it claims the role: a wait here is short unless it died.
  const auto deadline = Clock::now() + options_.connect_timeout;
  auto addr = sdk::blocking(store_, {"BLMOVE", keys_.addr, keys_.addr, "LEFT", "LEFT"},
                            options_.connect_timeout);
  if (!addr) {
    unreachable("the listening end published no address within " +
                seconds_text(options_.connect_timeout));
  }
  std::string url = addr->str, why;
  for (;;) {
    bool ipc = false;
    const int fd = dial_best(url, std::min(deadline, Clock::now() + 1s), ipc, why);
    if (fd >= 0) {
      std::lock_guard lock(mutex_);
      install_locked(fd, ipc);
      return;
    }
    const auto now = Clock::now();
    if (now >= deadline) break;
    std::this_thread::sleep_for(std::min<Clock::duration>(50ms, deadline - now));
    // The listening end may have moved to another process and republished.
    auto latest = sdk::run_checked(store_, {"LINDEX", keys_.addr, "0"});
    if (latest.type == sdk::Reply::Type::kString) url = latest.str;
  }
  if (sdk::run_checked(store_, {"EXISTS", keys_.peer_eof}).integer == 1) {
    std::lock_guard lock(mutex_);
    peer_eof_ = true;  // it closed before we got there
    return;
  }
  unreachable("no connection to " + url + " within " + seconds_text(options_.connect_timeout) +
              " (" + why + ")");
}

int DirectEnd::accept_one(std::chrono::milliseconds wait, bool& ipc) {
  pollfd p[3] = {
      {helper_wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}, {ipc_listen_fd_, POLLIN, 0}};
  if (::poll(p, ipc_listen_fd_ >= 0 ? 3 : 2, static_cast<int>(wait.count())) <= 0) return -1;
  ipc = (p[2].revents & POLLIN) != 0;
  if (!ipc && !(p[1].revents & POLLIN)) return -1;
  const int fd =
      ::accept4(ipc ? ipc_listen_fd_ : listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return -1;
  if (!ipc) sp::set_nodelay(fd);
  std::string why;
  if (!sp::handshake(fd, Clock::now() + options_.connect_timeout, why)) {
    ::close(fd);  // not a PAIR v1 peer (or it went away): keep listening
    return -1;
  }
  return fd;
}

int DirectEnd::dial_best(const std::string& tcp_url, Clock::time_point deadline, bool& ipc,
                         std::string& why) {
  ipc = false;
  if (options_.ipc) {
    const auto published = sdk::run_checked(store_, {"GET", keys_.ipc});
    if (published.type == sdk::Reply::Type::kString) {
      const int fd = sp::dial_ipc(published.str, deadline, why);
      if (fd >= 0) {
        ipc = true;
        return fd;
      }
    }
  }
  return sp::dial_tcp(tcp_url, deadline, why);
}

void DirectEnd::install_locked(int fd, bool ipc) {
  // A Unix socket is made blocking for await_locked()'s blocking recv; every other call on it
  // passes MSG_DONTWAIT.
  if (ipc) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  fd_ = fd;
  conn_ipc_ = ipc;
  rx_off_ = ipc ? 1 : 0;
  link_down_ = false;
  peer_let_go_ = false;
  rx_head_got_ = 0;
  rx_head_need_ = 8 + rx_off_;
  rx_in_body_ = false;
  rx_body_.clear();
  cv_.notify_all();
}

void DirectEnd::start_helper_locked() {
  if (helper_running_ || helper_stop_) return;
  if (helper_.joinable()) helper_.join();  // it has finished: it cleared helper_running_ last
  helper_running_ = true;
  try {
    helper_ = std::thread(&DirectEnd::helper_main, this);
  } catch (const std::system_error& e) {
    helper_running_ = false;
    throw sdk::ConnectionError(where() + ": cannot start a thread: " + e.what());
  }
}

// Runs while the end has no connection: accepts (listener) or dials again (a dialer whose peer
// let go: its next process listens on a new address), then hands over what send() kept.
void DirectEnd::helper_main() {
  Lock lock(mutex_);
  while (fd_ < 0 && !peer_eof_ && !peer_lost_ && !helper_stop_) {
    const bool listener = listener_;
    lock.unlock();
    int fd = -1;
    bool ipc = false;
    if (listener) {
      fd = accept_one(200ms, ipc);
    } else {
      std::string why;
      try {
        if (sdk::run_checked(store_, {"EXISTS", keys_.peer_eof}).integer == 1) {
          lock.lock();
          peer_eof_ = true;
          cv_.notify_all();
          break;
        }
        auto addr = sdk::run_checked(store_, {"LINDEX", keys_.addr, "0"});
        if (addr.type == sdk::Reply::Type::kString) {
          fd = dial_best(addr.str, Clock::now() + 1s, ipc, why);
        }
      } catch (const std::exception&) {
        // Redis briefly unreachable: try again below.
      }
      if (fd < 0) {
        pollfd p{helper_wake_fd_, POLLIN, 0};
        ::poll(&p, 1, 100);
      }
    }
    lock.lock();
    if (fd < 0) continue;
    install_locked(fd, ipc);
    if (!out_.empty()) {
      std::string pending;
      pending.swap(out_);
      if (ipc) pending = to_ipc(pending);
      out_has_data_ = false;
      writing_ = true;
      lock.unlock();
      iovec iov{pending.data(), pending.size()};
      const Wrote w = write_all(fd, &iov, 1, Clock::now() + options_.send_timeout, Waker::kHelper);
      lock.lock();
      writing_ = false;
      if (w != Wrote::kOk && !link_down_) {
        link_down_ = true;
        if (!peer_eof_ && !peer_let_go_) {
          peer_lost_ = true;
          lost_why_ = "the other end took no data within " + seconds_text(options_.send_timeout);
        }
      }
      reap_locked();
    }
    cv_.notify_all();
  }
  if (!lock.owns_lock()) lock.lock();
  helper_running_ = false;
  cv_.notify_all();
}

void DirectEnd::stop_helper() {
  helper_stop_ = true;
  signal_fd(helper_wake_fd_);
  if (helper_.joinable()) helper_.join();
}

// ---- reading ---------------------------------------------------------------------------------

void DirectEnd::frame_done(Incoming& in) {
  if (rx_len_ >= 5) {
    switch (static_cast<char>(rx_head_[12 + rx_off_])) {
      case 'D':
        in.messages.push_back(std::move(rx_body_));
        break;
      case 'E':
        in.eof = true;
        break;
      case 'F':
        in.let_go = true;
        break;
      default:
        break;  // 'A' (an NNG-engine peer acknowledging) or not ours: ignore
    }
  }
  rx_body_ = std::string();
  rx_body_got_ = 0;
  rx_in_body_ = false;
  rx_head_got_ = 0;
  rx_head_need_ = 8 + rx_off_;
}

void DirectEnd::parse(const char* data, std::size_t size, Incoming& in) {
  while (size > 0 && !in.lost) {
    if (rx_in_body_) {
      const std::size_t take = std::min(size, rx_body_.size() - rx_body_got_);
      std::memcpy(rx_body_.data() + rx_body_got_, data, take);
      rx_body_got_ += take;
      data += take;
      size -= take;
      if (rx_body_got_ == rx_body_.size()) frame_done(in);
      continue;
    }
    const std::size_t take = std::min(size, rx_head_need_ - rx_head_got_);
    std::memcpy(rx_head_ + rx_head_got_, data, take);
    rx_head_got_ += take;
    data += take;
    size -= take;
    if (rx_head_got_ < rx_head_need_) break;
    if (rx_head_need_ == 8 + rx_off_) {
      rx_len_ = get_be(rx_head_ + rx_off_, 8);
      if (rx_len_ < 4 || rx_len_ > kMaxFrame || (rx_off_ && rx_head_[0] != sp::kIpcMessage)) {
        in.lost = true;
        in.why = "the other end broke the PAIR v1 protocol (message length " +
                 std::to_string(rx_len_) + ")";
        break;
      }
      rx_head_need_ = 8 + rx_off_ + static_cast<std::size_t>(std::min<std::uint64_t>(rx_len_, 5));
      continue;
    }
    if (get_be(rx_head_ + 8 + rx_off_, 4) > 0xff) {
      in.lost = true;
      in.why = "the other end broke the PAIR v1 protocol (hop count)";
      break;
    }
    rx_body_.resize(static_cast<std::size_t>(rx_len_ >= 5 ? rx_len_ - 5 : 0));
    rx_body_got_ = 0;
    rx_in_body_ = true;
    if (rx_body_.empty()) frame_done(in);
  }
}

void DirectEnd::read_available(int fd, Incoming& in) {
  if (rx_buf_.empty()) rx_buf_.resize(kReadChunk);
  while (!in.lost) {
    ssize_t n;
    std::size_t asked;
    if (rx_in_body_ && rx_body_.size() - rx_body_got_ >= kDirectRead) {
      // A large body: straight into the message, no copy.
      asked = rx_body_.size() - rx_body_got_;
      n = ::recv(fd, rx_body_.data() + rx_body_got_, asked, MSG_DONTWAIT);
      if (n > 0) {
        rx_body_got_ += static_cast<std::size_t>(n);
        if (rx_body_got_ == rx_body_.size()) frame_done(in);
      }
    } else {
      asked = rx_buf_.size();
      n = ::recv(fd, rx_buf_.data(), asked, MSG_DONTWAIT);
      if (n > 0) parse(rx_buf_.data(), static_cast<std::size_t>(n), in);
    }
    if (n > 0) {
      if (static_cast<std::size_t>(n) < asked) {
        in.drained = true;  // drained for now
        return;
      }
      continue;
    }
    if (n == 0) {
      in.lost = true;
      in.why = "the other end's connection ended without a close (its process exited or died)";
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      in.drained = true;
      return;
    }
    in.lost = true;
    in.why = "the connection to the other end failed: " + errno_text(errno);
    return;
  }
}

void DirectEnd::apply_locked(Incoming& in) {
  if (in.drained) drained_at_ = Clock::now();
  for (auto& m : in.messages) inbox_.push_back(std::move(m));
  if (in.eof) peer_eof_ = true;
  if (in.let_go) {
    link_down_ = true;
    peer_let_go_ = true;
  }
  if (in.lost) {
    link_down_ = true;
    if (!peer_eof_ && !peer_let_go_) {
      peer_lost_ = true;
      lost_why_ = in.why;
    }
  }
  if (!in.messages.empty() || in.eof || in.let_go || in.lost) cv_.notify_all();
}

void DirectEnd::reap_locked() {
  if (!link_down_ || fd_ < 0 || reading_ || writing_) return;
  // Anything still unread would only make close() reset the connection: nobody reads it now.
  ::close(fd_);
  fd_ = -1;
  link_down_ = false;
  if (peer_let_go_ && !peer_eof_ && !closed_) {
    peer_let_go_ = false;
    start_helper_locked();  // wait for the end to be attached again (or follow it)
  }
  cv_.notify_all();
}

void DirectEnd::await_locked(Lock& lock, Clock::time_point deadline, const std::stop_token* stop) {
  bool first = true;  // look at the socket at least once, even with a zero timeout
  for (;;) {
    if (ready_locked() || closed_) return;
    if (stop && stop->stop_requested()) return;
    const bool expired = Clock::now() >= deadline;
    if (expired && !first) return;
    first = false;
    if (fd_ >= 0 && !link_down_ && !reading_ && conn_ipc_ && !stop && !expired &&
        deadline == Clock::time_point::max()) {
      // A wait without deadline on a (blocking) Unix socket: one blocking recv, no poll() first
      // (on an idle machine poll+read wakes up measurably slower than a read). close() ends it
      // with shutdown(SHUT_RD), which a Unix socket survives without losing anything.
      reading_ = blocking_read_ = true;
      const int fd = fd_;
      if (rx_buf_.empty()) rx_buf_.resize(kReadChunk);
      lock.unlock();
      Incoming in;
      const ssize_t n = ::recv(fd, rx_buf_.data(), rx_buf_.size(), 0);
      const int err = errno;
      lock.lock();
      blocking_read_ = false;
      const bool ours = closed_;  // woken by close(): not the peer's doing
      lock.unlock();
      if (n > 0) {
        parse(rx_buf_.data(), static_cast<std::size_t>(n), in);
        if (static_cast<std::size_t>(n) == rx_buf_.size()) {
          read_available(fd, in);
        } else {
          in.drained = true;
        }
      } else if (!ours && (n == 0 || (err != EINTR && err != EAGAIN))) {
        in.lost = true;
        in.why = n == 0 ? "the other end's connection ended without a close (its process exited "
                          "or died)"
                        : "the connection to the other end failed: " + errno_text(err);
      }
      lock.lock();
      reading_ = false;
      apply_locked(in);
      reap_locked();
      cv_.notify_all();
      continue;
    }
    if (fd_ >= 0 && !link_down_ && !reading_) {
      reading_ = true;
      const int fd = fd_;
      lock.unlock();
      pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      const int r = ::poll(p, 2, expired ? 0 : ms_until(deadline));
      Incoming in;
      if (r > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) read_available(fd, in);
      lock.lock();
      reading_ = false;
      // A wake-up that is not for this call (a stop meant for an earlier wait): consume it.
      if (r > 0 && (p[1].revents & POLLIN) && !closed_ && !(stop && stop->stop_requested())) {
        clear_fd(wake_fd_);
      }
      apply_locked(in);
      reap_locked();
      cv_.notify_all();
      continue;
    }
    if (expired) return;
    if (deadline == Clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, deadline);
    }
  }
}

// ---- writing ---------------------------------------------------------------------------------

DirectEnd::Wrote DirectEnd::write_all(int fd, iovec* iov, int count, Clock::time_point deadline,
                                      Waker waker) {
  int first = 0;
  const int wake = waker == Waker::kUser     ? wake_fd_
                   : waker == Waker::kHelper ? helper_wake_fd_
                                             : -1;
  for (;;) {
    while (first < count && iov[first].iov_len == 0) ++first;
    if (first == count) return Wrote::kOk;
    msghdr m{};
    m.msg_iov = iov + first;
    m.msg_iovlen = static_cast<std::size_t>(count - first);
    const ssize_t n = ::sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      auto left = static_cast<std::size_t>(n);
      for (; first < count && left >= iov[first].iov_len; ++first) left -= iov[first].iov_len;
      if (first < count) {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
        iov[first].iov_len -= left;
      }
      continue;
    }
    if (errno == EINTR) continue;
    const bool full = errno == EAGAIN || errno == EWOULDBLOCK;
    // The socket is full (or broken): read what the peer sent meanwhile if no other thread is
    // reading, so a peer that is itself blocked sending to us can go on (and a 'F' is seen).
    Lock lock(mutex_);
    if (waker == Waker::kUser && closed_) return Wrote::kClosed;
    if (waker == Waker::kHelper && helper_stop_) return Wrote::kClosed;
    const bool read = !reading_ && !link_down_;
    if (read) reading_ = true;
    lock.unlock();
    pollfd p[2] = {{fd, static_cast<short>((full ? POLLOUT : 0) | (read ? POLLIN : 0)), 0},
                   {wake, POLLIN, 0}};
    int wait = full ? ms_until(deadline) : 0;
    if (!read && (wait < 0 || wait > 10)) wait = 10;  // the reader may finish: look again soon
    ::poll(p, wake >= 0 ? 2 : 1, wait);
    Incoming in;
    if (read && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) read_available(fd, in);
    if (read) {
      lock.lock();
      reading_ = false;
      apply_locked(in);
      cv_.notify_all();
      lock.unlock();
    }
    if (!full) return Wrote::kBroken;
    if (Clock::now() >= deadline) return Wrote::kTimeout;
  }
}

void DirectEnd::send(std::string_view message) {
  connect();
  const auto deadline = Clock::now() + options_.send_timeout;
  unsigned char framed[kHeadSize + 1];  // [ipc type byte] + the TCP head
  unsigned char* const head = framed + 1;
  make_head(head, 'D', message.size());
  framed[0] = sp::kIpcMessage;
  const auto took_nothing = [&] {
    unreachable("the peer took no message within " + seconds_text(options_.send_timeout) +
                " (it is not connected, or not receiving)");
  };
  Lock lock(mutex_);
  // One non-blocking read first: a close marker that has already arrived makes this a broken
  // pipe, as with a kernel pipe. Skipped when the receive just before found the socket empty
  // (within kFresh: a ping-pong's reply): a marker arriving since then crossed this send, which
  // no program can tell from the peer closing right after it.
  bool looked = drained_at_ != Clock::time_point{} && Clock::now() - drained_at_ < kFresh;
  drained_at_ = {};
  for (;;) {
    if (!looked && fd_ >= 0 && !link_down_ && !reading_) {
      looked = true;
      reading_ = true;
      const int fd = fd_;
      lock.unlock();
      Incoming in;
      read_available(fd, in);
      lock.lock();
      reading_ = false;
      apply_locked(in);
      drained_at_ = {};
      reap_locked();
    }
    if (peer_eof_) throw sdk::PipeClosedError(where() + ": the other end has been closed");
    if (peer_lost_) throw sdk::PipeClosedError(where() + ": " + lost_why_);
    if (closed_) throw sdk::PipeClosedError(where() + " has been closed");
    const bool connected = fd_ >= 0 && !link_down_;
    if (writing_ || (!connected && out_.size() >= kMaxPending)) {
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) took_nothing();
      continue;
    }
    if (!connected) {
      // No connection yet (or the peer's process let go): keep it for the next one.
      out_.append(reinterpret_cast<const char*>(head), kHeadSize);
      out_.append(message);
      out_has_data_ = true;
      if (fd_ < 0) start_helper_locked();
      return;
    }
    break;
  }
  writing_ = true;
  const int fd = fd_;
  const bool ipc = conn_ipc_;
  lock.unlock();
  iovec iov[2] = {{ipc ? framed : head, ipc ? kHeadSize + 1 : kHeadSize},
                  {const_cast<char*>(message.data()), message.size()}};
  const Wrote w = write_all(fd, iov, 2, deadline, Waker::kUser);
  lock.lock();
  writing_ = false;
  if (w == Wrote::kBroken && peer_let_go_) {
    // The peer's process let go of its end before reading this: the end's next process gets it.
    make_head(head, 'D', message.size());
    out_.insert(0, std::string(message)).insert(0, reinterpret_cast<const char*>(head), kHeadSize);
    out_has_data_ = true;
  } else if (w == Wrote::kBroken || w == Wrote::kTimeout) {
    link_down_ = true;
    if (!peer_eof_ && !peer_lost_) {
      peer_lost_ = true;
      lost_why_ = w == Wrote::kTimeout
                      ? "the other end took no data within " + seconds_text(options_.send_timeout)
                      : "the connection to the other end broke";
    }
  }
  reap_locked();
  cv_.notify_all();
  switch (w) {
    case Wrote::kOk:
      return;
    case Wrote::kClosed:
      throw sdk::PipeClosedError(where() + " has been closed");
    case Wrote::kTimeout:
      took_nothing();
      return;
    case Wrote::kBroken:
      if (peer_eof_) throw sdk::PipeClosedError(where() + ": the other end has been closed");
      if (peer_lost_) throw sdk::PipeClosedError(where() + ": " + lost_why_);
      return;  // kept for the end's next process
  }
}

std::optional<std::string> DirectEnd::recv(std::optional<std::chrono::milliseconds> timeout) {
  connect();
  Lock lock(mutex_);
  const auto drained_before = drained_at_;
  await_locked(lock, deadline_after(timeout), nullptr);
  if (!inbox_.empty()) {
    std::string message = std::move(inbox_.front());
    inbox_.pop_front();
    // Taken without reading the socket in this call: the next send must look at it.
    if (drained_at_ == drained_before) drained_at_ = {};
    return message;
  }
  if (peer_eof_) throw sdk::PipeClosedError(where() + ": end of file, the other end closed");
  if (peer_lost_) throw sdk::PipeClosedError(where() + ": end of file: " + lost_why_);
  if (closed_) throw sdk::PipeClosedError(where() + " has been closed");
  return std::nullopt;
}

bool DirectEnd::poll(std::chrono::milliseconds timeout) {
  connect();
  Lock lock(mutex_);
  await_locked(lock, deadline_after(timeout), nullptr);
  return ready_locked();
}

bool DirectEnd::wait_ready(std::chrono::milliseconds timeout, std::stop_token stop) {
  connect();
  bool ready;
  {
    std::stop_callback on_stop(stop, [this] {
      { std::lock_guard guard(mutex_); }
      cv_.notify_all();
      wake();
    });
    Lock lock(mutex_);
    await_locked(lock, deadline_after(timeout), &stop);
    ready = ready_locked();
  }
  if (stop.stop_requested()) {
    // Consume this call's wake-up; close() keeps its own set.
    Lock lock(mutex_);
    if (!closed_) clear_fd(wake_fd_);
  }
  return ready;
}

// ---- closing ---------------------------------------------------------------------------------

void DirectEnd::close() {
  if (close_called_.exchange(true)) return;
  if (!connected_) {
    const std::string end = std::to_string(end_);
    const auto what = sdk::run_checked(store_, {"EVAL", kCloseUnattachedScript, "2", keys_.listener,
                                                keys_.eof, end, expiry_})
                          .str;
    if (what != "dial") return;
    try {
      connect();  // the peer listens and may be waiting in recv: tell it directly
    } catch (const sdk::PluginError&) {
      // Nobody to tell directly: the flag below tells a peer that attaches later.
    }
  }
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    if (blocking_read_) ::shutdown(fd_, SHUT_RD);  // ends a blocking recv (Unix socket only)
  }
  cv_.notify_all();
  wake();  // threads blocked in recv/poll/send return
  finish('E');
  sdk::run_checked(store_, {"SET", keys_.eof, "1", "EX", expiry_});
  teardown();
}

void DirectEnd::finish(char frame) {
  const auto deadline = Clock::now() + options_.linger;
  Lock lock(mutex_);
  cv_.wait_until(lock, deadline, [&] { return !reading_ && !writing_; });
  reap_locked();
  // An end whose peer closed (or vanished) has nobody to tell.
  bool tell = !peer_eof_ && !peer_lost_;
  bool queued = false;
  if (tell && (fd_ < 0 || link_down_)) {
    if (out_has_data_) {
      // Messages wait for the peer to connect: hand them over (with the frame), up to linger.
      unsigned char head[kHeadSize];
      make_head(head, frame, 0);
      out_.append(reinterpret_cast<const char*>(head), kHeadSize);
      queued = true;
      if (fd_ < 0) start_helper_locked();
      cv_.wait_until(lock, deadline, [&] {
        return (fd_ >= 0 && !link_down_ && out_.empty() && !writing_) || peer_eof_ || peer_lost_;
      });
    } else {
      tell = false;  // never connected or the peer let go, and nothing to deliver
    }
  }
  if (tell && fd_ >= 0 && !link_down_ && !reading_ && !writing_ && (!queued || out_.empty())) {
    reading_ = writing_ = true;
    const int fd = fd_;
    const bool ipc = conn_ipc_;
    lock.unlock();
    bool ok = true;
    if (!queued) {
      unsigned char framed[kHeadSize + 1];
      make_head(framed + 1, frame, 0);
      framed[0] = sp::kIpcMessage;
      iovec iov{ipc ? framed : framed + 1, ipc ? kHeadSize + 1 : kHeadSize};
      ok = write_all(fd, &iov, 1, deadline, Waker::kNone) == Wrote::kOk;
    }
    // The peer's kernel must hold everything before the socket closes: data arriving at a
    // closed socket makes the kernel reset the connection, dropping what was not yet taken.
    // So shut the sending side (the peer sees our FIN after the data), read and drop what comes
    // in, and wait until nothing of ours is unacknowledged (bounded by linger).
    ::shutdown(fd, SHUT_WR);
    // (A Unix socket hands data to the peer's queue as it is written: nothing to wait for.)
    Incoming ignored;
    while (ok && !ipc && !ignored.lost) {
      int unacked = 0;
      if (::ioctl(fd, SIOCOUTQ, &unacked) != 0 || unacked == 0 || Clock::now() >= deadline) break;
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, std::min(ms_until(deadline), 20));
      if (p.revents) read_available(fd, ignored);
      ignored.messages.clear();
    }
    if (!ignored.lost) read_available(fd, ignored);
    lock.lock();
    reading_ = writing_ = false;
    link_down_ = true;
  }
}

void DirectEnd::teardown() {
  stop_helper();
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) ::close(fd_);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (ipc_listen_fd_ >= 0) {
    ::close(ipc_listen_fd_);
    ::unlink(ipc_path_.c_str());
  }
  fd_ = listen_fd_ = ipc_listen_fd_ = -1;
  link_down_ = false;
  cv_.notify_all();
}

}  // namespace lithops::plugins::nanomsg
