// PipeTransport: moves Connection bytes between the two ends of a Pipe.
//
// A pipe has an id (a string the core makes unique in the session) and two ends, 0 and 1; what
// end i sends, end 1-i receives, in order, one message at a time (never merged or split). Ends
// live in any processes of the session: each process attaches to its end by id, so an end can be
// passed to a worker. A transport that needs a rendezvous (an address to dial) keeps it in the
// StateStore given in its PluginContext, under keys that start with the pipe id, and sets every
// key it creates to expire after PluginContext::expiry_seconds.
//
// What the core does on top (so a transport need not): duplex/simplex checks, typed messages,
// recv_bytes(maxlength) / recv_bytes_into bookkeeping, counting closed ends and calling destroy()
// when both are closed, mapping errors to mp::EOFError / mp::OSError.
//
// Threading: the core calls at most one send() and one recv()/poll() at a time on a PipeEnd, but
// a send() may run while another thread is in recv()/poll(), and close() may run while another
// thread waits in recv()/poll() (that wait may then end with PipeClosedError or its timeout).
//
// Errors: PipeClosedError for a closed pipe (see each call); ConnectionError for a transport
// failure, with a message naming the problem and the fix; nothing else.
#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace lithops::sdk {

class PipeEnd {
 public:
  // Releases this process's resources only. It does NOT tell the peer anything: the same end may
  // be attached again (in this or another process), so only close() means "no more messages".
  virtual ~PipeEnd() = default;
  // Sends one message (may be empty; may be large: at least 64 MiB must work). Returns once the
  // message is on its way (buffered), not when it is received. Throws PipeClosedError if the
  // peer has closed (Python's BrokenPipeError).
  virtual void send(std::string_view message) = 0;
  // Waits up to `timeout` (std::nullopt: forever; zero: do not wait) for the next message and
  // consumes it. Returns std::nullopt on timeout; throws PipeClosedError if the peer closed and
  // everything it sent before closing has been received (and keeps throwing it).
  virtual std::optional<std::string> recv(std::optional<std::chrono::milliseconds> timeout) = 0;
  // True if a message (or the close marker) can be received without waiting; waits up to
  // `timeout` (zero: do not wait) for one to arrive. Never consumes anything.
  virtual bool poll(std::chrono::milliseconds timeout) = 0;
  // Optional (added for mp::connection::wait; existing transports compile unchanged). As
  // poll(timeout), but also returns false soon after `stop` is requested from another thread:
  // wait() runs one thread per watched end in here and stops the others once one is ready. The
  // core calls it under the same rule as poll() (never together with recv()/poll() on this end).
  // The default calls poll() in slices of at most kWaitSlice, checking `stop` between them, so
  // a stop may take up to that long to be seen; a transport should override it with a wait that
  // `stop` interrupts (both shipped transports do).
  static constexpr std::chrono::milliseconds kWaitSlice{50};
  virtual bool wait_ready(std::chrono::milliseconds timeout, std::stop_token stop) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (stop.stop_requested()) return false;
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds::zero()) return poll(std::chrono::milliseconds::zero());
      if (poll(std::min(left, kWaitSlice))) return true;
    }
  }
  // Tells the peer no more messages will come from this end: once it has received everything
  // sent before, its recv() throws PipeClosedError. Messages already sent must still be
  // delivered, so close() may wait (bounded by the transport's own configured limit) for them to
  // leave this process. Idempotent; send() after close() is not called by the core.
  virtual void close() = 0;
};

class PipeTransport {
 public:
  virtual ~PipeTransport() = default;
  // Creates the state of a new pipe (called once, by the process that calls mp::Pipe()).
  virtual void create(const std::string& pipe_id) = 0;
  // Attaches to end `end` (0 or 1) of an existing pipe, in any process of the session. Should
  // not block on the peer: connecting may be deferred to the first send/recv/poll/close.
  virtual std::unique_ptr<PipeEnd> attach(const std::string& pipe_id, int end) = 0;
  // Removes whatever the pipe left in the store (called once both ends are closed).
  virtual void destroy(const std::string& pipe_id) = 0;
};

}  // namespace lithops::sdk
