// Exceptions of lithops::multiprocessing, mirroring Python's multiprocessing / queue exceptions.
// Every one derives from mp::Error, itself a std::runtime_error.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace lithops::multiprocessing {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A blocking call ran out of time (multiprocessing.TimeoutError).
class TimeoutError : public Error {
 public:
  using Error::Error;
};

// Wrong value or misuse (ValueError): unregistered function, closed object, bad config value.
class ValueError : public Error {
 public:
  using Error::Error;
};

// Wrong type of a value (TypeError), e.g. a result that does not convert to the requested type.
class TypeError : public Error {
 public:
  using Error::Error;
};

// A process-level failure: a worker died, a Process was used in the wrong state.
class ProcessError : public Error {
 public:
  using Error::Error;
};

class BrokenBarrierError : public Error {
 public:
  using Error::Error;
};

class AuthenticationError : public Error {
 public:
  using Error::Error;
};

// queue.Empty / queue.Full / queue.ShutDown.
class Empty : public Error {
 public:
  using Error::Error;
};
class Full : public Error {
 public:
  using Error::Error;
};
// queue.ShutDown: put/get on a Queue after shutdown() (get once no item is left).
class ShutDown : public Error {
 public:
  using Error::Error;
};

// EOFError on a Connection whose peer closed; OSError-like failures on closed objects.
class EOFError : public Error {
 public:
  using Error::Error;
};
class OSError : public Error {
 public:
  using Error::Error;
};

// Configuration or plugin problems: unknown backend, unreachable Redis, ABI mismatch.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// An exception raised in a worker whose type is not known to this process.
class RemoteError : public Error {
 public:
  RemoteError(std::string type, std::string message, std::string traceback, long long task = -1)
      : Error(type + ": " + message),
        type_(std::move(type)),
        message_(std::move(message)),
        traceback_(std::move(traceback)),
        task_(task) {}
  const std::string& type() const noexcept { return type_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& traceback() const noexcept { return traceback_; }
  // Index of the failing task in a Pool call, -1 where not applicable.
  long long task_index() const noexcept { return task_; }

 private:
  std::string type_, message_, traceback_;
  long long task_;
};

// The stack trace of a worker's exception (multiprocessing.pool.RemoteTraceback). A standard or
// registered exception rethrown in the driver carries one as its nested exception, as Python's
// re-raised error has it as __cause__; what() is the trace text.
class RemoteTraceback : public Error {
 public:
  explicit RemoteTraceback(const std::string& traceback) : Error(traceback) {}
  std::string traceback() const { return what(); }
};

// A task's result could not be serialised to travel back (multiprocessing.pool.MaybeEncodingError):
// exc() describes the serialisation error, value() the result.
class MaybeEncodingError : public Error {
 public:
  MaybeEncodingError(std::string exc, std::string value)
      : Error("Error sending result: '" + value + "'. Reason: '" + exc + "'"),
        exc_(std::move(exc)),
        value_(std::move(value)) {}
  // Rebuilt from what() (how it crosses from a worker to the driver).
  explicit MaybeEncodingError(const std::string& message) : Error(message) {
    const std::string head = "Error sending result: '", mid = "'. Reason: '";
    const auto m = message.rfind(mid);
    if (message.rfind(head, 0) == 0 && m != std::string::npos && m >= head.size() &&
        message.size() >= m + mid.size() + 1 && message.back() == '\'') {
      value_ = message.substr(head.size(), m - head.size());
      exc_ = message.substr(m + mid.size(), message.size() - m - mid.size() - 1);
    } else {
      exc_ = message;
    }
  }
  const std::string& exc() const noexcept { return exc_; }
  const std::string& value() const noexcept { return value_; }

 private:
  std::string exc_, value_;
};

// The worker's stack trace text attached to an exception that came from a worker (an
// mp::RemoteError's traceback(), or a nested mp::RemoteTraceback); empty if there is none.
inline std::string remote_traceback(const std::exception& e) {
  if (const auto* r = dynamic_cast<const RemoteError*>(&e)) return r->traceback();
  const auto* nested = dynamic_cast<const std::nested_exception*>(&e);
  if (nested == nullptr || !nested->nested_ptr()) return {};
  try {
    std::rethrow_exception(nested->nested_ptr());
  } catch (const RemoteTraceback& t) {
    return t.traceback();
  } catch (...) {
  }
  return {};
}

// What printing a remote exception shows: what(), then the worker's stack trace if there is one.
inline std::string format_exception(const std::exception& e) {
  std::string text = e.what();
  if (auto tb = remote_traceback(e); !tb.empty()) text += "\n\nRemote traceback:\n" + tb;
  return text;
}

}  // namespace lithops::multiprocessing
