// The "direct" engine of the nanomsg transport (the default): the two ends talk NNG's PAIR v1
// protocol over one TCP connection (the SP TCP mapping: an 8-byte header each way on connect,
// then messages as a 64-bit big-endian length and the body; a PAIR v1 body starts with a 32-bit
// hop count), or on one host over a Unix socket (the IPC mapping: the same, plus a type byte 1
// before each length), so an NNG or nanomsg PAIR v1 socket can be either peer. Unlike libnng, which
// hands every message to its own I/O threads in both processes (70-120 us per round trip on a
// 2-core machine), the socket I/O runs on the calling thread: a message costs one send and one
// poll+read. Our frames (type byte 'D' data, 'E' close marker, 'F' let go, 'A' ack) are the SP
// message bodies, after the hop count; the rendezvous in Redis is the NNG engine's.
//
// Threads: recv/poll/wait_ready, send and close may run on different threads. At most one
// thread reads the socket at a time (the "reader" role) and one writes (the "writer" role); a
// sender blocked on a full socket takes the reader role when it is free and drains incoming
// messages into the inbox while it waits, so two ends sending a lot at once cannot deadlock.
// A background thread exists only while the end has no connection (the listener waiting for
// the peer to dial, or a dialer following a peer that moved to another process): it connects
// and hands over what was sent meanwhile, then ends.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "lithops/sdk/pipe_transport.hpp"
#include "lithops/sdk/state_store.hpp"
#include "nanomsg_config.hpp"
#include "rendezvous.hpp"

struct iovec;

namespace lithops::plugins::nanomsg {

class DirectEnd : public sdk::PipeEnd {
 public:
  DirectEnd(sdk::StateStore& store, std::string pipe_id, int end, const Options& options,
            std::string expiry_seconds);
  ~DirectEnd() override;

  // Writes the message to the socket (blocking while the kernel buffer is full, up to
  // send_timeout, draining incoming messages meanwhile). Without a connection (the peer has not
  // dialed yet) up to 64 MiB are kept here and handed over when it does.
  void send(std::string_view message) override;
  std::optional<std::string> recv(std::optional<std::chrono::milliseconds> timeout) override;
  bool poll(std::chrono::milliseconds timeout) override;
  bool wait_ready(std::chrono::milliseconds timeout, std::stop_token stop) override;
  // Sends 'E', shuts the write side down and waits (up to linger) until the peer's kernel has
  // acknowledged everything, then closes the socket.
  void close() override;

 private:
  using Clock = std::chrono::steady_clock;
  using Lock = std::unique_lock<std::mutex>;
  enum class Wrote { kOk, kClosed, kBroken, kTimeout };
  enum class Waker { kUser, kHelper, kNone };  // which stop ends a blocked write
  // What one read of the socket found (applied to the shared state under the mutex).
  struct Incoming {
    std::vector<std::string> messages;
    bool eof = false;      // 'E'
    bool let_go = false;   // 'F'
    bool lost = false;     // the connection ended without 'E' or 'F', or broke the protocol
    bool drained = false;  // the read stopped because nothing more was there
    std::string why;
  };

  void connect();  // lazily, on first use: claim a role, then listen or dial
  void listen_and_publish();
  void dial_initial();
  int accept_one(std::chrono::milliseconds wait, bool& ipc);
  // Dials the listener: its Unix socket if one is published and reachable (same host), else TCP.
  int dial_best(const std::string& tcp_url, Clock::time_point deadline, bool& ipc,
                std::string& why);
  void install_locked(int fd, bool ipc);
  void start_helper_locked();
  void helper_main();
  void stop_helper();

  void read_available(int fd, Incoming& in);
  void parse(const char* data, std::size_t size, Incoming& in);
  void frame_done(Incoming& in);
  void apply_locked(Incoming& in);
  void reap_locked();  // closes a connection that went down once no thread uses it
  Wrote write_all(int fd, iovec* iov, int count, Clock::time_point deadline, Waker waker);
  // Waits until a message or EOF can be returned, or closed_/stop/deadline.
  void await_locked(Lock& lock, Clock::time_point deadline, const std::stop_token* stop);
  bool ready_locked() const { return !inbox_.empty() || peer_eof_ || peer_lost_; }
  void finish(char frame);  // the end of close() ('E') and of the destructor ('F')
  void teardown();
  void wake();
  std::string where() const;
  [[noreturn]] void unreachable(const std::string& why) const;

  sdk::StateStore& store_;
  const std::string pipe_id_;
  const int end_;
  const Options options_;
  const std::string expiry_;
  const RendezvousKeys keys_;

  std::mutex connect_mutex_;
  std::atomic<bool> connected_{false};  // connect() has run to completion
  std::atomic<bool> close_called_{false};
  int wake_fd_ = -1;  // eventfd: close() and wait_ready's stop wake threads blocked in ::poll
  int helper_wake_fd_ = -1;  // eventfd: stops the background thread

  std::mutex mutex_;
  std::condition_variable cv_;
  bool listener_ = false;
  int listen_fd_ = -1;
  int ipc_listen_fd_ = -1;  // the same-host listener (NNG's ipc:// mapping), or -1
  std::string ipc_path_;
  int fd_ = -1;             // the connection, or -1
  bool conn_ipc_ = false;   // fd_ is a Unix socket (ipc:// framing: a type byte before lengths)
  bool link_down_ = false;  // fd_ ended (EOF, 'F' or error): closed once no role holds it
  bool peer_let_go_ = false;
  bool reading_ = false, writing_ = false;  // the reader and writer roles
  bool blocking_read_ = false;              // the reader is in a blocking recv (Unix socket)
  std::string out_;                         // frames sent while there was no connection
  bool out_has_data_ = false;
  std::deque<std::string> inbox_;
  bool peer_eof_ = false;   // 'E' received, or the peer closed before we connected
  bool peer_lost_ = false;  // the connection ended without 'E'/'F' (the peer's process died)
  std::string lost_why_;
  bool closed_ = false;  // close() has begun
  // When a read last found the socket empty (see send()); reset once a send relied on it or a
  // message was taken from the inbox without reading.
  Clock::time_point drained_at_{};
  std::thread helper_;
  bool helper_running_ = false;
  std::atomic<bool> helper_stop_{false};

  // Receive parsing state, owned by the reader role.
  unsigned char rx_head_[14] = {};  // [ipc type (1)], length (8), hop count (4), type (1)
  std::size_t rx_off_ = 0;          // 1 on an ipc:// connection
  std::size_t rx_head_got_ = 0, rx_head_need_ = 8;
  std::uint64_t rx_len_ = 0;
  std::string rx_body_;
  std::size_t rx_body_got_ = 0;
  bool rx_in_body_ = false;
  std::vector<char> rx_buf_;
};

}  // namespace lithops::plugins::nanomsg
