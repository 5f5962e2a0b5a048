// The emulator's event loop and HTTP/1.1 server, behind an interface free of Boost.Asio/Beast so
// that only event_loop.cpp pays their compile time. Everything runs on the one thread that calls
// run(): handlers, timers and watchers never race each other, so the emulator's state needs no
// locks. Other threads hand work in with post().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lithops::emulator {

struct Request {
  std::string method;
  std::string target;                                        // path and query, as received
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;
  // First value of a header, by case-insensitive name; empty if absent.
  std::string header(std::string_view name) const;
  std::string path() const { return target.substr(0, target.find('?')); }
  std::string query() const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Sends the response to a request. Call it once, on the loop thread, now or later (a long poll,
// an invocation that answers when the function finishes). Dropping it unanswered closes the
// connection. `sent`, if given, runs on the loop thread once the response has been written (or
// the connection failed).
class Respond {
 public:
  using Fn = std::function<void(Response, std::function<void()>)>;
  Respond() = default;
  Respond(std::nullptr_t) {}              // NOLINT: as std::function
  Respond(Fn fn) : fn_(std::move(fn)) {}  // NOLINT: as std::function
  void operator()(Response response, std::function<void()> sent = {}) const {
    fn_(std::move(response), std::move(sent));
  }
  explicit operator bool() const { return static_cast<bool>(fn_); }

 private:
  Fn fn_;
};
using Handler = std::function<void(Request&&, Respond)>;

class EventLoop {
 public:
  // `max_body_bytes`: larger request bodies get 413 RequestEntityTooLargeException.
  explicit EventLoop(std::size_t max_body_bytes);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Serves HTTP/1.1 on address:port (port 0 = any free one) with `handler`; returns the id to
  // close it with and the port it got. Throws std::runtime_error if it cannot bind.
  struct Listener {
    int id;
    unsigned short port;
  };
  Listener listen(const std::string& address, unsigned short port, Handler handler);
  // Stops accepting; connections already open are closed too.
  void close(int listener_id);

  // Runs `fn` on the loop thread. Thread-safe.
  void post(std::function<void()> fn);
  // Runs `fn` after `delay` unless cancelled; returns an id for cancel_timer.
  std::uint64_t set_timer(std::chrono::milliseconds delay, std::function<void()> fn);
  void cancel_timer(std::uint64_t id);
  // Runs `fn` once when `fd` becomes readable (a pidfd: the process exited). The caller owns fd
  // and must keep it open until then or until unwatch.
  void watch_readable(int fd, std::function<void()> fn);
  void unwatch(int fd);

  // Runs the loop in the calling thread until stop() (from any thread, or a signal handler via
  // stop_on_signals()).
  void run();
  void stop();
  // SIGINT and SIGTERM end run().
  void stop_on_signals();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lithops::emulator
