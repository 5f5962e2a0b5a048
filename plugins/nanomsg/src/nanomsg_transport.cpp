#include "nanomsg_transport.hpp"

#include <cstdio>
#include <cstring>
#include <system_error>
#include <thread>

#include "direct_end.hpp"
#include "lithops/sdk/blocking.hpp"
#include "lithops/sdk/errors.hpp"
#include "rendezvous.hpp"

namespace lithops::plugins::nanomsg {
namespace {
using namespace std::chrono_literals;

// How long close waits for nng_close (normally milliseconds; see close_with_deadline()).
constexpr std::chrono::seconds kCloseDeadline{5};

void check(int rv, const char* what) {
  if (rv != 0)
    throw sdk::ConnectionError(std::string("nanomsg pipe: ") + what + ": " + nng_strerror(rv));
}
}  // namespace

NanomsgEnd::NanomsgEnd(sdk::StateStore& store, std::string pipe_id, int end, const Options& options,
                       std::string expiry_seconds)
    : store_(store),
      pipe_id_(std::move(pipe_id)),
      end_(end),
      options_(options),
      expiry_(std::move(expiry_seconds)),
      keys_(pipe_id_, end) {}

NanomsgEnd::~NanomsgEnd() {
  // Not a close (the end may be attached elsewhere next), but what this process sent must not
  // be dropped with the socket: ask the peer to acknowledge ('F') and wait, bounded by linger.
  if (socket_open_ && sent_any_ && !closed_) {
    try {
      linger_for_ack('F');
    } catch (const std::exception&) {
      // Destructors do not throw; the peer never came within the linger time.
    }
  }
  close_socket();
}

void NanomsgEnd::linger_for_ack(char frame) {
  std::uint64_t seen;
  {
    std::lock_guard lock(mutex_);
    // The peer was here and left (closed, or its process let go of the end): nobody to tell,
    // and a frame queued now would only wait for a peer that may never come.
    if (ever_connected_ && pipes_.empty()) return;
    // The peer closed its end ('E'): it reads nothing more, so there is nothing to flush, and
    // a frame sent now could reach its socket while it closes (see close_socket()).
    if (peer_eof_) return;
    seen = acks_;
  }
  nng_socket_set_ms(socket_, NNG_OPT_SENDTIMEO, static_cast<nng_duration>(options_.linger.count()));
  send_frame(frame, {});
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, options_.linger, [&] {
    return acks_ > seen || (!sent_any_ && !ever_connected_) || (ever_connected_ && pipes_.empty());
  });
}

std::string NanomsgEnd::where() const {
  return "nanomsg pipe " + pipe_id_ + " end " + std::to_string(end_);
}

void NanomsgEnd::unreachable(const std::string& why) const {
  throw sdk::ConnectionError(unreachable_text(where(), why));
}

void NanomsgEnd::open_socket() {
  check(nng_pair1_open(&socket_), "nng_pair1_open");
  socket_open_ = true;
  // Messages of any size (the default limit is 1 MiB); deep queues so a sender does not stall
  // while the peer is still starting; fast reconnects for a dialer whose peer restarts.
  check(nng_socket_set_size(socket_, NNG_OPT_RECVMAXSZ, 0), "recv-size-max");
  check(nng_socket_set_int(socket_, NNG_OPT_SENDBUF, 8192), "send-buffer");
  check(nng_socket_set_ms(socket_, NNG_OPT_SENDTIMEO,
                          static_cast<nng_duration>(options_.send_timeout.count())),
        "send-timeout");
  check(nng_socket_set_ms(socket_, NNG_OPT_RECONNMINT, 10), "reconnect-time-min");
  check(nng_socket_set_ms(socket_, NNG_OPT_RECONNMAXT, 500), "reconnect-time-max");
  check(nng_pipe_notify(socket_, NNG_PIPE_EV_ADD_POST, &NanomsgEnd::on_pipe, this), "notify");
  check(nng_pipe_notify(socket_, NNG_PIPE_EV_REM_POST, &NanomsgEnd::on_pipe, this), "notify");
  check(nng_aio_alloc(&aio_, &NanomsgEnd::on_recv, this), "nng_aio_alloc");
  nng_recv_aio(socket_, aio_);
}

void NanomsgEnd::listen() {
  nng_listener listener;
  int rv = NNG_EADDRINUSE;
  for (int port = options_.port_min; port <= options_.port_max && rv == NNG_EADDRINUSE; ++port) {
    rv = nng_listen(socket_, tcp_url(options_.bind, port).c_str(), &listener, 0);
  }
  if (rv != 0) {
    throw sdk::ConnectionError(where() + ": cannot listen on " + options_.bind + " ports " +
                               std::to_string(options_.port_min) + "-" +
                               std::to_string(options_.port_max) + ": " + nng_strerror(rv) +
                               " (config section 'nanomsg': bind, port_min, port_max)");
  }
  int port = 0;
  check(nng_listener_get_int(listener, NNG_OPT_TCP_BOUND_PORT, &port), "tcp-bound-port");
  url_ = tcp_url(options_.host, port);
  std::vector<sdk::Command> publish{
      {"DEL", keys_.addr}, {"RPUSH", keys_.addr, url_}, {"EXPIRE", keys_.addr, expiry_}};
  for (const auto& r : store_.execute_pipeline(publish, sdk::kCommandTimeout)) {
    if (r.is_error()) throw sdk::ConnectionError(where() + ": publishing the address: " + r.str);
  }
}

void NanomsgEnd::dial() {
  // The listener publishes right after it claims the role: a wait here is short unless it died.
  const auto deadline = std::chrono::steady_clock::now() + options_.connect_timeout;
  auto addr = sdk::blocking(store_, {"BLMOVE", keys_.addr, keys_.addr, "LEFT", "LEFT"},
                            options_.connect_timeout);
  if (!addr) {
    unreachable("the listening end published no address within " +
                seconds_text(options_.connect_timeout));
  }
  // NNG keeps retrying a non-blocking dialer in the background. If the listening end moved to
  // another process (it listens again there and republishes), the published address changes:
  // look again every half second while not connected, and follow it.
  for (;;) {
    url_ = addr->str;
    nng_dialer dialer;
    check(nng_dialer_create(&dialer, socket_, url_.c_str()), "nng_dialer_create");
    check(nng_dialer_start(dialer, NNG_FLAG_NONBLOCK), "nng_dialer_start");
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        const auto step = std::min(std::chrono::steady_clock::now() + 500ms, deadline);
        if (cv_.wait_until(lock, step, [&] { return !pipes_.empty(); })) return;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      auto now = sdk::run_checked(store_, {"LINDEX", keys_.addr, "0"});
      if (now.type == sdk::Reply::Type::kString && now.str != url_) {
        nng_dialer_close(dialer);
        addr = std::move(now);
        break;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  if (sdk::run_checked(store_, {"EXISTS", keys_.peer_eof}).integer == 1) {
    std::lock_guard relock(mutex_);
    peer_eof_ = true;  // it closed before we got there
    return;
  }
  unreachable("no connection to " + url_ + " within " + seconds_text(options_.connect_timeout));
}

void NanomsgEnd::connect() {
  if (connected_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(connect_mutex_);
  if (connected_) return;
  const std::string role = claim_role(store_, keys_, end_, expiry_);
  if (role == "eof") {
    std::lock_guard state(mutex_);
    peer_eof_ = true;
  } else {
    try {
      open_socket();
      if (role == "listen") {
        listen();
      } else {
        dial();
      }
    } catch (...) {
      close_socket();
      std::lock_guard state(mutex_);
      stopping_ = false;  // a later call may try again
      throw;
    }
  }
  connected_.store(true, std::memory_order_release);
}

void NanomsgEnd::send_frame(char type, std::string_view body) {
  nng_msg* msg = nullptr;
  check(nng_msg_alloc(&msg, body.size() + 1), "nng_msg_alloc");
  auto* p = static_cast<char*>(nng_msg_body(msg));
  p[0] = type;
  if (!body.empty()) std::memcpy(p + 1, body.data(), body.size());
  const int rv = nng_sendmsg(socket_, msg, 0);
  if (rv == 0) return;  // NNG owns the message now
  nng_msg_free(msg);
  if (rv == NNG_ETIMEDOUT) {
    unreachable("the peer took no message within " + seconds_text(options_.send_timeout) +
                " (it is not connected, or not receiving)");
  }
  if (rv == NNG_ECLOSED) throw sdk::PipeClosedError(where() + " is closed");
  throw sdk::ConnectionError(where() + ": send failed: " + nng_strerror(rv));
}

void NanomsgEnd::send(std::string_view message) {
  connect();
  {
    std::lock_guard lock(mutex_);
    if (peer_eof_) throw sdk::PipeClosedError(where() + ": the other end has been closed");
  }
  send_frame('D', message);
  sent_any_ = true;
}

std::optional<std::string> NanomsgEnd::recv(std::optional<std::chrono::milliseconds> timeout) {
  connect();
  std::unique_lock lock(mutex_);
  auto ready = [&] { return !inbox_.empty() || peer_eof_ || stopping_; };
  if (!timeout) {
    cv_.wait(lock, ready);
  } else if (!cv_.wait_for(lock, *timeout, ready)) {
    return std::nullopt;
  }
  if (!inbox_.empty()) {
    std::string message = std::move(inbox_.front());
    inbox_.pop_front();
    return message;
  }
  if (peer_eof_) throw sdk::PipeClosedError(where() + ": end of file, the other end closed");
  throw sdk::PipeClosedError(where() + " has been closed");
}

bool NanomsgEnd::poll(std::chrono::milliseconds timeout) {
  connect();
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return !inbox_.empty() || peer_eof_; });
}

bool NanomsgEnd::wait_ready(std::chrono::milliseconds timeout, std::stop_token stop) {
  connect();
  // Notify under the mutex, so the wake-up cannot fall between the check and the wait.
  std::stop_callback wake(stop, [this] {
    std::lock_guard guard(mutex_);
    cv_.notify_all();
  });
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout,
               [&] { return !inbox_.empty() || peer_eof_ || stop.stop_requested(); });
  return !inbox_.empty() || peer_eof_;
}

void NanomsgEnd::close() {
  if (closed_.exchange(true)) return;
  if (!connected_) {
    const std::string end = std::to_string(end_);
    const auto what = sdk::run_checked(store_, {"EVAL", kCloseUnattachedScript, "2", keys_.listener,
                                                keys_.eof, end, expiry_})
                          .str;
    if (what != "dial") return;
    try {
      connect();
    } catch (const sdk::PluginError&) {
      // Nobody to tell directly: the flag tells a peer that attaches later.
    }
  }
  if (socket_open_) {
    try {
      linger_for_ack('E');
    } catch (const sdk::PluginError&) {
      // The peer never connected within the linger time; the flag below is all we can do.
    }
  }
  sdk::run_checked(store_, {"SET", keys_.eof, "1", "EX", expiry_});
  close_socket();
}

void NanomsgEnd::close_socket() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  // nng_aio_stop cancels the pending receive and waits for a callback still running; after it
  // no receive callback runs for this object, so the aio can go before the socket.
  if (aio_) {
    nng_aio_stop(aio_);
    nng_aio_free(aio_);
    aio_ = nullptr;
  }
  if (socket_open_) {
    socket_open_ = false;
    close_with_deadline(socket_);
  }
}

// NNG 1.5.2 (Debian bookworm) can hang in nng_close forever: if a frame's header has arrived
// when the socket closes, the TCP/IPC transport starts the body read on an already stopped aio,
// which never completes, and the reaper thread waits for it. The close protocol avoids it (the
// last frames are the peer's 'A', before its own close; an end whose peer sent 'E' sends
// nothing more), but a duplex peer still sending data while this end closes can hit it. So the
// close runs on its own thread and this end waits at most kCloseDeadline: past that the socket
// is abandoned (no callback refers to this object any more: the receive aio is stopped and the
// pipe callbacks of the stuck pipe have run) and the process goes on.
void NanomsgEnd::close_with_deadline(nng_socket socket) {
  struct Done {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
  };
  auto done = std::make_shared<Done>();
  try {
    std::thread([socket, done] {
      nng_close(socket);
      std::lock_guard lock(done->mutex);
      done->done = true;
      done->cv.notify_all();
    }).detach();
  } catch (const std::system_error&) {
    nng_close(socket);  // no thread to spare: close here
    return;
  }
  std::unique_lock lock(done->mutex);
  if (!done->cv.wait_for(lock, kCloseDeadline, [&] { return done->done; })) {
    std::fprintf(stderr,
                 "lithops: %s: nng_close did not finish within %lld s (a known NNG 1.5 race "
                 "when a frame arrives during close); the socket is abandoned\n",
                 where().c_str(), static_cast<long long>(kCloseDeadline.count()));
  }
}

void NanomsgEnd::on_pipe(nng_pipe pipe, nng_pipe_ev event, void* arg) {
  auto* self = static_cast<NanomsgEnd*>(arg);
  const auto id = static_cast<std::uint32_t>(nng_pipe_id(pipe));
  {
    std::lock_guard lock(self->mutex_);
    if (event == NNG_PIPE_EV_ADD_POST) {
      self->pipes_.insert(id);
      self->ever_connected_ = true;
    } else {
      self->pipes_.erase(id);
    }
  }
  self->cv_.notify_all();
}

void NanomsgEnd::on_recv(void* arg) {
  auto* self = static_cast<NanomsgEnd*>(arg);
  const int rv = nng_aio_result(self->aio_);
  if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
  if (rv == 0) {
    nng_msg* msg = nng_aio_get_msg(self->aio_);
    const auto size = nng_msg_len(msg);
    const auto* body = static_cast<const char*>(nng_msg_body(msg));
    bool ack = false;
    if (size > 0) {
      std::lock_guard lock(self->mutex_);
      switch (body[0]) {
        case 'D':
          self->inbox_.emplace_back(body + 1, size - 1);
          break;
        case 'E':
          self->peer_eof_ = true;
          ack = true;
          break;
        case 'F':
          ack = true;
          break;
        case 'A':
          ++self->acks_;
          break;
        default:
          break;  // not ours: ignore
      }
    }
    nng_msg_free(msg);
    self->cv_.notify_all();
    nng_msg* reply = nullptr;
    if (ack && nng_msg_alloc(&reply, 1) == 0) {
      *static_cast<char*>(nng_msg_body(reply)) = 'A';
      if (nng_sendmsg(self->socket_, reply, NNG_FLAG_NONBLOCK) != 0) nng_msg_free(reply);
    }
  }
  {
    std::lock_guard lock(self->mutex_);
    if (self->stopping_) return;
  }
  nng_recv_aio(self->socket_, self->aio_);
}

NanomsgTransport::NanomsgTransport(const sdk::PluginContext& ctx)
    : store_(ctx.store),
      options_(parse_options(ctx.section)),
      expiry_(std::to_string(ctx.expiry_seconds)) {
  if (!store_) {
    throw sdk::ConfigError("the nanomsg pipe transport needs the session's state store");
  }
}

// Nothing to create: the first end to be used claims the listener role.
void NanomsgTransport::create(const std::string&) {}

std::unique_ptr<sdk::PipeEnd> NanomsgTransport::attach(const std::string& pipe_id, int end) {
  if (options_.engine == Engine::kNng) {
    return std::make_unique<NanomsgEnd>(*store_, pipe_id, end, options_, expiry_);
  }
  return std::make_unique<DirectEnd>(*store_, pipe_id, end, options_, expiry_);
}

void NanomsgTransport::destroy(const std::string& pipe_id) {
  const RendezvousKeys k(pipe_id, 0);
  sdk::run_checked(*store_, {"DEL", k.listener, k.addr, k.ipc, k.eof, k.peer_eof});
}

}  // namespace lithops::plugins::nanomsg
