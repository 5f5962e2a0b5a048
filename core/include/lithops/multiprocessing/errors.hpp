// Exceptions of lithops::multiprocessing, mirroring Python's multiprocessing / queue exceptions.
// Every one derives from mp::Error, itself a std::runtime_error.
#pragma once

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

}  // namespace lithops::multiprocessing
