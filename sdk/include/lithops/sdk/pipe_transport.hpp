// PipeTransport: moves Connection bytes between the two ends of a Pipe.
//
// A pipe has an id (a string the core makes unique in the session) and two ends, 0 and 1; what
// end i sends, end 1-i receives, in order. Ends live in any processes of the session: each process
// attaches to its end by id, so an end can be passed to a worker. A transport that needs a
// rendezvous (an address to dial) keeps it in the StateStore given in its PluginContext.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lithops::sdk {

class PipeEnd {
 public:
  virtual ~PipeEnd() = default;
  // Sends one message (may be empty; may be large: at least 64 MiB must work).
  // Throws PipeClosedError if the peer has closed.
  virtual void send(std::string_view message) = 0;
  // Waits up to `timeout` (std::nullopt: forever) for the next message.
  // Returns std::nullopt on timeout; throws PipeClosedError if the peer closed and all that it
  // sent has been received.
  virtual std::optional<std::string> recv(std::optional<std::chrono::milliseconds> timeout) = 0;
  // True if a message (or the close marker) can be received without waiting longer than timeout.
  virtual bool poll(std::chrono::milliseconds timeout) = 0;
  // Tells the peer no more messages will come from this end. Idempotent.
  virtual void close() = 0;
};

class PipeTransport {
 public:
  virtual ~PipeTransport() = default;
  // Creates the state of a new pipe (called once, by the process that calls mp::Pipe()).
  virtual void create(const std::string& pipe_id) = 0;
  // Attaches to end `end` (0 or 1) of an existing pipe, in any process of the session.
  virtual std::unique_ptr<PipeEnd> attach(const std::string& pipe_id, int end) = 0;
  // Removes whatever the pipe left in the store (called when both ends are gone).
  virtual void destroy(const std::string& pipe_id) = 0;
};

}  // namespace lithops::sdk
