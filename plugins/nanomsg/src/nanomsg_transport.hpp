// The "nanomsg" pipe transport: a direct TCP connection between the two ends (NNG PAIR v1
// sockets, wire-compatible with nanomsg), with Redis as the directory of addresses.
//
// Rendezvous (keys under the pipe id, all expiring after REDIS_EXPIRY_TIME):
//   <pipe>:nn:listener   which end listens: the first end to be used claims it (Lua, atomic)
//   <pipe>:nn:addr       a one-element list holding the listener's URL; the other end waits for
//                        it with a blocking BLMOVE of the list onto itself (consumes nothing, so
//                        an end re-attached in another process finds it again)
//   <pipe>:nn:ipc        the direct engine's same-host Unix socket URL (ipc://...), if any
//   <pipe>:nn:eof<i>     end i closed: a peer that attaches (or cannot connect) afterwards gets
//                        EOF instead of waiting
//
// Frames: one type byte, then the body. 'D' data, 'E' end of data (close marker), 'F' flush
// (this process lets go of the end without closing it), 'A' the peer's acknowledgement of 'E' or
// 'F'. Every end drains its socket continuously (an NNG aio callback into a local queue), like a
// kernel pipe buffer, so senders do not stall, and an end that goes away can wait for 'A' to know
// everything it sent has arrived before it closes its socket (NNG drops queued messages on
// close).
#pragma once

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "lithops/sdk/pipe_transport.hpp"
#include "lithops/sdk/plugin_context.hpp"
#include "lithops/sdk/state_store.hpp"
#include "nanomsg_config.hpp"
#include "rendezvous.hpp"

namespace lithops::plugins::nanomsg {

class NanomsgEnd : public sdk::PipeEnd {
 public:
  NanomsgEnd(sdk::StateStore& store, std::string pipe_id, int end, const Options& options,
             std::string expiry_seconds);
  ~NanomsgEnd() override;

  // Queues the message on the socket (up to 8192 messages wait for a slow or absent peer, then
  // send blocks up to send_timeout). ConnectionError if the peer is unreachable or never takes
  // the message; the message names the `redislist` fallback.
  void send(std::string_view message) override;
  std::optional<std::string> recv(std::optional<std::chrono::milliseconds> timeout) override;
  bool poll(std::chrono::milliseconds timeout) override;
  // poll() whose condition-variable wait `stop` also ends (for mp::connection::wait).
  bool wait_ready(std::chrono::milliseconds timeout, std::stop_token stop) override;
  // Sends 'E' and waits up to `linger` for the peer's 'A' (skipped when nothing was sent and no
  // peer ever connected), then closes the socket.
  void close() override;

 private:
  void connect();  // lazily, on first use: claim a role, listen or dial
  void open_socket();
  void listen();
  void dial();
  void send_frame(char type, std::string_view body);
  // Sends `frame` ('E' or 'F') and waits up to linger for the peer's 'A'.
  void linger_for_ack(char frame);
  void close_socket();
  // nng_close on a helper thread, waited for at most a few seconds (an NNG 1.5 bug can hang it).
  void close_with_deadline(nng_socket socket);
  std::string where() const;
  [[noreturn]] void unreachable(const std::string& why) const;
  static void on_recv(void* self);
  static void on_pipe(nng_pipe pipe, nng_pipe_ev event, void* self);

  sdk::StateStore& store_;
  const std::string pipe_id_;
  const int end_;
  const Options options_;
  const std::string expiry_;
  const RendezvousKeys keys_;

  std::mutex connect_mutex_;
  std::atomic<bool> connected_{false};  // connect() has run to completion
  bool socket_open_ = false;
  nng_socket socket_ = NNG_SOCKET_INITIALIZER;
  nng_aio* aio_ = nullptr;
  std::string url_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> inbox_;
  bool peer_eof_ = false;   // 'E' received, or the peer closed before we connected
  std::uint64_t acks_ = 0;  // 'A' frames received
  bool stopping_ = false;
  bool ever_connected_ = false;
  std::set<std::uint32_t> pipes_;  // connected NNG pipes (0 or 1 for PAIR)
  std::atomic<bool> sent_any_{false};
  std::atomic<bool> closed_{false};
};

class NanomsgTransport : public sdk::PipeTransport {
 public:
  // sdk::ConfigError for a bad `nanomsg` section or a missing store.
  explicit NanomsgTransport(const sdk::PluginContext& ctx);

  void create(const std::string& pipe_id) override;
  std::unique_ptr<sdk::PipeEnd> attach(const std::string& pipe_id, int end) override;
  void destroy(const std::string& pipe_id) override;

 private:
  sdk::StateStore* store_;
  Options options_;
  std::string expiry_;
};

}  // namespace lithops::plugins::nanomsg
