// mp::Connection: argument checks as Python's, messages through the attached PipeEnd, errors
// mapped to mp::EOFError / mp::OSError.
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "lithops/multiprocessing/pipe.hpp"
#include "lithops/sdk/errors.hpp"
#include "pipe_internal.hpp"
#include "sentinel_internal.hpp"

namespace lithops::multiprocessing {
namespace json = boost::json;

namespace {
using Millis = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Rounded up, so a wait never ends before the timeout the caller gave.
Millis to_millis(detail::Duration d) { return std::chrono::ceil<Millis>(d); }

std::string describe(const detail::ConnectionState& s) {
  return "pipe " + s.pipe_id + " end " + std::to_string(s.index) + " (" + s.transport_name + ")";
}

// Runs a transport call, turning plugin errors into the user-facing ones.
template <class Fn>
auto transport_call(const detail::ConnectionState& s, bool sending, Fn&& fn) {
  try {
    return fn();
  } catch (const sdk::PipeClosedError& e) {
    if (sending) {
      throw OSError("[Errno 32] Broken pipe: the other end of " + describe(s) + " is closed (" +
                    e.what() + ")");
    }
    throw EOFError("the other end of " + describe(s) +
                   " is closed and everything it sent has been received");
  } catch (const sdk::PluginError& e) {
    throw OSError(describe(s) + ": " + e.what());
  }
}

detail::ConnectionState& checked(const std::shared_ptr<detail::ConnectionState>& s) {
  if (!s || s->closed) throw OSError("handle is closed");
  return *s;
}
}  // namespace

void Connection::send_bytes(std::string_view buf, long long offset, std::optional<long long> size) {
  auto& s = checked(state_);
  if (!s.writable) throw OSError("connection is read-only");
  const auto n = static_cast<long long>(buf.size());
  if (offset < 0) throw ValueError("offset is negative");
  if (n < offset) throw ValueError("buffer length < offset");
  if (!size) {
    size = n - offset;
  } else if (*size < 0) {
    throw ValueError("size is negative");
  } else if (offset + *size > n) {
    throw ValueError("buffer length < offset + size");
  }
  const auto part = buf.substr(static_cast<std::size_t>(offset), static_cast<std::size_t>(*size));
  transport_call(s, true, [&] { s.end()->send(part); });
}

void Connection::send_bytes(std::span<const std::byte> buf, long long offset,
                            std::optional<long long> size) {
  send_bytes(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()), offset, size);
}

std::optional<std::string> Connection::recv_raw(detail::Timeout timeout,
                                                std::optional<long long> maxlength) {
  auto& s = checked(state_);
  if (!s.readable) throw OSError("connection is write-only");
  if (maxlength && *maxlength < 0) throw ValueError("negative maxlength");
  std::lock_guard lock(s.recv_mutex);
  std::string message;
  if (s.pending) {
    message = std::move(*s.pending);
    s.pending.reset();
  } else {
    std::optional<Millis> wait;
    if (timeout) wait = to_millis(*timeout);
    auto m = transport_call(s, false, [&] { return s.end()->recv(wait); });
    if (!m) return std::nullopt;
    message = std::move(*m);
  }
  if (maxlength && static_cast<long long>(message.size()) > *maxlength) {
    const auto size = message.size();
    s.pending = std::move(message);  // not lost: the next receive returns it
    throw OSError("bad message length: the message has " + std::to_string(size) +
                  " bytes, more than maxlength " + std::to_string(*maxlength) +
                  "; it stays first in line");
  }
  return message;
}

std::string Connection::recv_bytes(std::optional<long long> maxlength) {
  return *recv_raw(std::nullopt, maxlength);
}

std::size_t Connection::recv_bytes_into(std::span<std::byte> buffer, long long offset) {
  auto& s = checked(state_);
  if (!s.readable) throw OSError("connection is write-only");
  if (offset < 0) throw ValueError("negative offset");
  if (offset > static_cast<long long>(buffer.size())) throw ValueError("offset too large");
  std::string message = *recv_raw(std::nullopt, std::nullopt);
  const auto space = buffer.size() - static_cast<std::size_t>(offset);
  if (message.size() > space) throw BufferTooShort(std::move(message));
  if (!message.empty()) std::memcpy(buffer.data() + offset, message.data(), message.size());
  return message.size();
}

std::size_t Connection::recv_bytes_into(std::span<char> buffer, long long offset) {
  return recv_bytes_into(std::as_writable_bytes(buffer), offset);
}

std::optional<json::value> Connection::recv_json(detail::Timeout timeout) {
  auto raw = recv_raw(timeout, std::nullopt);
  if (!raw) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(*raw, ec);
  if (ec) {
    throw ValueError("Connection::recv: the message is not JSON (" + ec.message() +
                     "); use recv_bytes() for messages sent with send_bytes()");
  }
  return v;
}

bool Connection::poll() { return poll_for(detail::Duration::zero()); }

bool Connection::poll_for(detail::Duration timeout) {
  auto& s = checked(state_);
  if (!s.readable) throw OSError("connection is write-only");
  std::lock_guard lock(s.recv_mutex);
  if (s.pending) return true;
  return transport_call(s, false, [&] { return s.end()->poll(to_millis(timeout)); });
}

void Connection::close() {
  if (state_) state_->close(/*quiet=*/false);
}

bool Connection::closed() const { return !state_ || state_->closed; }
bool Connection::readable() const { return state_ && state_->readable; }
bool Connection::writable() const { return state_ && state_->writable; }
const std::string& Connection::transport() const {
  static const std::string none;
  return state_ ? state_->transport_name : none;
}

namespace detail {
struct ConnectionAccess {
  static const std::shared_ptr<ConnectionState>& state(const Connection& c) { return c.state_; }
};
}  // namespace detail

namespace connection {
namespace {
// Longest single wait handed to a transport when the caller waits forever (re-armed after).
constexpr Millis kForeverStep = std::chrono::hours(24);

// What the waiter threads of one wait() share.
struct Waiters {
  std::mutex mutex;
  std::condition_variable cv;
  std::size_t finished = 0;
  bool any_ready = false;
  std::exception_ptr error;
};

// Blocks in the transport until `s` has a message, its timeout passes or `stop` is requested.
bool wait_one(detail::ConnectionState& s, std::optional<Clock::time_point> deadline,
              std::stop_token stop) {
  std::lock_guard lock(s.recv_mutex);  // the transport's one poll at a time
  if (s.pending) return true;
  auto end = s.end();
  for (;;) {
    if (stop.stop_requested()) return false;
    Millis step = kForeverStep;
    if (deadline) {
      step = std::chrono::ceil<Millis>(*deadline - Clock::now());
      if (step <= Millis::zero()) return false;
    }
    const bool ready = transport_call(s, false, [&] { return end->wait_ready(step, stop); });
    if (ready) return true;
    if (deadline && Clock::now() >= *deadline) return false;
  }
}

// One object of a wait(): a connection's state or a process sentinel.
struct Item {
  const WaitObject* object = nullptr;
  detail::ConnectionState* connection = nullptr;
  std::shared_ptr<detail::SentinelState> sentinel;
};

std::vector<Item> resolve(std::span<const WaitObject> object_list) {
  if (object_list.size() > kMaxWaitObjects) {
    throw ValueError("connection::wait: at most " + std::to_string(kMaxWaitObjects) +
                     " objects at once (one waiting thread each), got " +
                     std::to_string(object_list.size()));
  }
  std::vector<Item> items;
  for (const WaitObject& o : object_list) {
    Item item;
    item.object = &o;
    if (auto number = o.sentinel()) {
      item.sentinel = detail::find_sentinel(*number);
      if (!item.sentinel) {
        throw ValueError("connection::wait: " + std::to_string(*number) +
                         " is not the sentinel of a Process started in this process (use "
                         "Process::sentinel() after start())");
      }
    } else {
      if (!o.connection()) throw ValueError("connection::wait: null Connection pointer");
      auto& s = checked(detail::ConnectionAccess::state(*o.connection()));
      if (!s.readable) throw OSError("connection::wait: connection is write-only");
      item.connection = &s;
    }
    items.push_back(std::move(item));
  }
  return items;
}
}  // namespace

std::vector<WaitObject> wait(std::span<const WaitObject> object_list, detail::Timeout timeout) {
  auto items = resolve(object_list);
  // Whatever is ready now, without waiting (Python returns every ready object).
  auto collect = [&] {
    std::vector<WaitObject> ready;
    for (const Item& item : items) {
      const bool now = item.connection ? item.object->connection()->poll()
                                       : detail::sentinel_ready(*item.sentinel);
      if (now) ready.push_back(*item.object);
    }
    return ready;
  };
  auto ready = collect();
  if (!ready.empty() || items.empty() || (timeout && *timeout <= detail::Duration::zero())) {
    return ready;
  }
  std::optional<Clock::time_point> deadline;
  if (timeout) deadline = Clock::now() + *timeout;

  Waiters w;
  std::stop_source stop;
  std::vector<std::thread> threads;
  threads.reserve(items.size());
  auto finish = [&](bool is_ready, std::exception_ptr error) {
    std::lock_guard lock(w.mutex);
    ++w.finished;
    if (is_ready) w.any_ready = true;
    if (error && !w.error) w.error = error;
    w.cv.notify_all();
  };
  try {
    for (Item& item : items) {
      threads.emplace_back([&, item = &item, token = stop.get_token()] {
        try {
          finish(item->connection ? wait_one(*item->connection, deadline, token)
                                  : detail::wait_sentinel(*item->sentinel, deadline, token),
                 nullptr);
        } catch (...) {
          finish(false, std::current_exception());
        }
      });
    }
  } catch (...) {
    stop.request_stop();
    for (auto& t : threads) t.join();
    throw;
  }
  {
    std::unique_lock lock(w.mutex);
    w.cv.wait(lock, [&] { return w.any_ready || w.error || w.finished == threads.size(); });
  }
  stop.request_stop();
  for (auto& t : threads) t.join();
  if (w.error) std::rethrow_exception(w.error);
  return collect();
}

std::vector<Connection*> wait(std::span<Connection* const> object_list, detail::Timeout timeout) {
  std::vector<WaitObject> objects(object_list.begin(), object_list.end());
  std::vector<Connection*> ready;
  for (const WaitObject& o : wait(std::span<const WaitObject>(objects), timeout)) {
    ready.push_back(o.connection());
  }
  return ready;
}

std::vector<Connection*> wait(std::span<Connection> object_list, detail::Timeout timeout) {
  std::vector<Connection*> pointers;
  pointers.reserve(object_list.size());
  for (auto& c : object_list) pointers.push_back(&c);
  return wait(std::span<Connection* const>(pointers), timeout);
}
}  // namespace connection

}  // namespace lithops::multiprocessing
