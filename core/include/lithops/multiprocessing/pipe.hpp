// mp::Pipe and mp::Connection: Python's multiprocessing.Pipe between processes of a session.
//
//   auto [a, b] = mp::Pipe();             // duplex: both ends send and receive
//   mp::Process p(child, b);              // an end is a handle: it re-attaches in the worker
//   p.start();
//   a.send(std::vector<int>{1, 2, 3});    // typed messages travel as JSON (Boost.JSON)
//   auto reply = a.recv<std::string>();
//
// The transport is chosen per Pipe, when it is created, by mp::config PIPE_CONNECTION_TYPE:
// "redislist" (default: one Redis list per direction, works wherever Redis is reachable) or
// "nanomsg" (a direct TCP connection between the two processes; Redis only holds its address).
// Any other name loads the pipe plugin of that name (docs/pipes.md).
//
// Copies of a Connection in one process are the same connection (like two Python references).
// Closing works like file descriptors: passing a Connection to another process (a Process or
// Pool argument, a Queue item, a Pipe message) makes one more copy of that end; close() or
// destroying the last C++ copy in a process (a worker's copy goes when its function returns)
// removes one. When the last copy of an end is gone, the peer's recv raises EOFError once it has
// read everything sent before. So the usual pattern works as in Python:
//   mp::Process p(child, b); p.start(); b.close();   // the child's b keeps working
//   a.recv() ...                                      // EOFError after the child's b goes
// A copy lost with a crashed process is never counted down: the peer then waits (or times out).
// The pipe's keys are deleted once both ends are gone, else they expire after REDIS_EXPIRY_TIME.
#pragma once

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include "lithops/multiprocessing/common.hpp"
#include "lithops/multiprocessing/errors.hpp"

namespace lithops::multiprocessing {

// recv_bytes_into() with a buffer too small for the message (Python's BufferTooShort). The
// message is consumed and handed over here, whole.
class BufferTooShort : public ProcessError {
 public:
  explicit BufferTooShort(std::string message);
  const std::string& message() const noexcept { return message_; }

 private:
  std::string message_;
};

namespace detail {
struct ConnectionState;
struct ConnectionAccess;
}  // namespace detail

class Connection {
 public:
  // A connection that is already closed (so Connection can live in containers and structs).
  Connection();

  // Sends obj as one message: boost::json::value_from(obj), serialised. Raises mp::OSError if the
  // connection is closed, not writable, or the peer has closed its end (Python's BrokenPipeError)
  // or cannot be reached (the message names the transport and the fix). Does not wait for the
  // peer to receive it.
  template <class T>
  void send(const T& obj) {
    send_bytes(boost::json::serialize(boost::json::value_from(obj)));
  }

  // Waits forever for the next message and converts it with boost::json::value_to<T>.
  // Raises mp::EOFError if the peer closed and everything it sent has been received,
  // mp::OSError if this end is closed or not readable, mp::TypeError if the message does not
  // convert to T (the message is consumed).
  template <class T>
  T recv() {
    return convert<T>(recv_json(std::nullopt).value());
  }
  // As recv(), waiting at most `timeout`: std::nullopt if nothing arrived in time.
  template <class T, class Rep, class Period>
  std::optional<T> recv(std::chrono::duration<Rep, Period> timeout) {
    auto v = recv_json(detail::to_duration(timeout));
    if (!v) return std::nullopt;
    return convert<T>(*v);
  }

  // Sends bytes [offset, offset + size) of buf as one message; size std::nullopt = to the end.
  // mp::ValueError if offset or size is negative or the range is outside buf (as Python).
  // Otherwise as send().
  void send_bytes(std::string_view buf, long long offset = 0,
                  std::optional<long long> size = std::nullopt);
  void send_bytes(std::span<const std::byte> buf, long long offset = 0,
                  std::optional<long long> size = std::nullopt);

  // Waits forever for the next message and returns its bytes. With maxlength, a longer message
  // raises mp::OSError and stays in this Connection: the next recv_bytes/recv gets it.
  // mp::ValueError for a negative maxlength. EOF and closed ends as recv().
  std::string recv_bytes(std::optional<long long> maxlength = std::nullopt);
  // As recv_bytes() waiting at most `timeout`: std::nullopt if nothing arrived in time.
  template <class Rep, class Period>
  std::optional<std::string> recv_bytes(std::chrono::duration<Rep, Period> timeout) {
    return recv_raw(detail::to_duration(timeout), std::nullopt);
  }

  // Waits forever for the next message and copies it into buffer at byte `offset`; returns its
  // size. mp::ValueError if offset is negative or past the end of buffer; mp::BufferTooShort
  // (holding the message) if it does not fit. EOF and closed ends as recv().
  std::size_t recv_bytes_into(std::span<std::byte> buffer, long long offset = 0);
  std::size_t recv_bytes_into(std::span<char> buffer, long long offset = 0);

  // True if a message can be received without waiting (or the peer closed: the next recv raises
  // EOFError). poll() does not wait; poll(timeout) waits up to timeout (negative: not at all).
  // Never consumes a message. mp::OSError if this end is closed or not readable.
  bool poll();
  template <class Rep, class Period>
  bool poll(std::chrono::duration<Rep, Period> timeout) {
    return poll_for(detail::to_duration(timeout));
  }

  // Closes this end: see the header comment. Idempotent. May wait (bounded by the transport's
  // configuration, see docs/pipes.md) for messages already sent to leave this process.
  void close();
  bool closed() const;
  // Whether this end may receive / send (false for the wrong side of a Pipe(false)).
  bool readable() const;
  bool writable() const;
  // The transport carrying this pipe ("redislist", "nanomsg", ...).
  const std::string& transport() const;

  // Handles: a Connection converts to JSON (value_from) and back (value_to), so it can be an
  // argument of a Process or Pool task or a message of a Queue or Pipe; the receiver attaches to
  // the same end of the same pipe.
  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const Connection& c);
  friend Connection tag_invoke(boost::json::value_to_tag<Connection>, const boost::json::value& v);

 private:
  friend std::pair<Connection, Connection> Pipe(bool duplex);
  friend struct detail::ConnectionAccess;
  explicit Connection(std::shared_ptr<detail::ConnectionState> state);

  template <class T>
  static T convert(const boost::json::value& v) {
    try {
      return boost::json::value_to<T>(v);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw TypeError(std::string("Connection::recv: the message does not convert to the "
                                  "requested type: ") +
                      e.what());
    }
  }
  std::optional<boost::json::value> recv_json(detail::Timeout timeout);
  std::optional<std::string> recv_raw(detail::Timeout timeout, std::optional<long long> maxlength);
  bool poll_for(detail::Duration timeout);

  std::shared_ptr<detail::ConnectionState> state_;
};

// Returns the two ends of a new pipe. duplex (default): both ends send and receive. Otherwise
// the first end only receives and the second only sends, as in Python. Starts the session (and
// its Redis) if needed; mp::ConfigError if PIPE_CONNECTION_TYPE names no pipe plugin.
std::pair<Connection, Connection> Pipe(bool duplex = true);

// multiprocessing.connection.wait(object_list, timeout=None):
//
//   std::vector<mp::Connection> readers = ...;
//   while (!readers.empty()) {
//     for (mp::Connection* r : mp::connection::wait(readers)) {
//       try { use(r->recv<int>()); } catch (const mp::EOFError&) { /* drop r */ }
//     }
//   }
//   auto ready = mp::connection::wait({&a, &b}, 5s);   // [] after 5 s if nothing arrives
//
// Returns the connections (pointers into object_list, in its order) that have a message or EOF
// ready, i.e. whose poll() is true; waits until at least one is ready or `timeout` passes
// (std::nullopt: forever; zero or negative: do not wait, as poll()). Consumes nothing.
// mp::OSError if one is closed or write-only; mp::ValueError for more than kMaxWaitObjects.
// It does not poll in rounds: when nothing is ready it runs one thread per connection, each in
// a blocking wait that the first ready one interrupts (docs/pipes.md). Connections of
// different transports may be mixed.
//
// Process sentinels (Python's wait([a, p.sentinel, b])) take the WaitObject overloads, which
// accept connections and sentinels mixed and return the ready ones as WaitObjects:
//
//   auto ready = mp::connection::wait({&a, p.sentinel(), &b}, 20s);
//   if (ready == std::vector<mp::connection::WaitObject>{p.sentinel()}) { /* p has ended */ }
//
// A sentinel is ready once its process has ended (joined or not). mp::ValueError for a number
// that is no sentinel of a Process started in this process.
namespace connection {
inline constexpr std::size_t kMaxWaitObjects = 64;

// A Connection (by pointer) or a process sentinel (Process::sentinel()).
class WaitObject {
 public:
  WaitObject(Connection* connection) : connection_(connection) {}              // NOLINT: implicit
  WaitObject(Connection& connection) : connection_(&connection) {}             // NOLINT: implicit
  WaitObject(long long sentinel) : sentinel_(sentinel), is_sentinel_(true) {}  // NOLINT
  WaitObject(int sentinel) : sentinel_(sentinel), is_sentinel_(true) {}        // NOLINT

  Connection* connection() const { return connection_; }  // nullptr for a sentinel
  std::optional<long long> sentinel() const {
    return is_sentinel_ ? std::optional<long long>(sentinel_) : std::nullopt;
  }
  friend bool operator==(const WaitObject& a, const WaitObject& b) {
    return a.is_sentinel_ == b.is_sentinel_ &&
           (a.is_sentinel_ ? a.sentinel_ == b.sentinel_ : a.connection_ == b.connection_);
  }

 private:
  Connection* connection_ = nullptr;
  long long sentinel_ = 0;
  bool is_sentinel_ = false;
};

std::vector<WaitObject> wait(std::span<const WaitObject> object_list,
                             detail::Timeout timeout = std::nullopt);
inline std::vector<WaitObject> wait(std::initializer_list<WaitObject> object_list,
                                    detail::Timeout timeout = std::nullopt) {
  return wait(std::span<const WaitObject>(object_list.begin(), object_list.size()), timeout);
}
template <class Rep, class Period>
std::vector<WaitObject> wait(std::span<const WaitObject> object_list,
                             std::chrono::duration<Rep, Period> timeout) {
  return wait(object_list, detail::Timeout(detail::to_duration(timeout)));
}
template <class Rep, class Period>
std::vector<WaitObject> wait(std::initializer_list<WaitObject> object_list,
                             std::chrono::duration<Rep, Period> timeout) {
  return wait(object_list, detail::Timeout(detail::to_duration(timeout)));
}

std::vector<Connection*> wait(std::span<Connection* const> object_list,
                              detail::Timeout timeout = std::nullopt);
std::vector<Connection*> wait(std::span<Connection> object_list,
                              detail::Timeout timeout = std::nullopt);
inline std::vector<Connection*> wait(std::initializer_list<Connection*> object_list,
                                     detail::Timeout timeout = std::nullopt) {
  return wait(std::span<Connection* const>(object_list.begin(), object_list.size()), timeout);
}
template <class Rep, class Period>
std::vector<Connection*> wait(std::span<Connection* const> object_list,
                              std::chrono::duration<Rep, Period> timeout) {
  return wait(object_list, detail::Timeout(detail::to_duration(timeout)));
}
template <class Rep, class Period>
std::vector<Connection*> wait(std::span<Connection> object_list,
                              std::chrono::duration<Rep, Period> timeout) {
  return wait(object_list, detail::Timeout(detail::to_duration(timeout)));
}
template <class Rep, class Period>
std::vector<Connection*> wait(std::initializer_list<Connection*> object_list,
                              std::chrono::duration<Rep, Period> timeout) {
  return wait(object_list, detail::Timeout(detail::to_duration(timeout)));
}
}  // namespace connection

}  // namespace lithops::multiprocessing
