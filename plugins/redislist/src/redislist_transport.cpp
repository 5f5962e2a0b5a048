#include "redislist_transport.hpp"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "lithops/sdk/blocking.hpp"
#include "lithops/sdk/errors.hpp"

namespace lithops::plugins::redislist {
using sdk::blocking;
using sdk::kCommandTimeout;

namespace {
sdk::Reply run(sdk::StateStore& store, std::vector<std::string_view> args) {
  return sdk::run_checked(store, std::move(args));
}

std::string key(const std::string& pipe_id, const char* what, int end) {
  return pipe_id + ":" + what + std::to_string(end);
}
}  // namespace

RedisListEnd::RedisListEnd(sdk::StateStore& store, const std::string& pipe_id, int end,
                           std::string expiry_seconds)
    : store_(store),
      in_(key(pipe_id, "to", end)),
      out_(key(pipe_id, "to", 1 - end)),
      closed_flag_(key(pipe_id, "closed", end)),
      peer_closed_flag_(key(pipe_id, "closed", 1 - end)),
      marker_(std::string("\0\xff", 2) + "LITHOPS-PIPE-EOF:" + pipe_id),
      expiry_(std::move(expiry_seconds)) {}

void RedisListEnd::send(std::string_view message) {
  // string_view commands would avoid this copy of the message; the StateStore pipeline takes
  // owned strings, and one memcpy is small next to the network transfer.
  std::vector<sdk::Command> cmds{{"RPUSH", out_, std::string(message)},
                                 {"EXPIRE", out_, expiry_},
                                 {"EXISTS", peer_closed_flag_}};
  auto replies = store_.execute_pipeline(cmds, kCommandTimeout);
  for (const auto& r : replies) {
    if (r.is_error()) throw sdk::ConnectionError(store_.endpoint() + ": RPUSH failed: " + r.str);
  }
  // Python raises BrokenPipeError when the reader is gone; the message went nowhere useful.
  if (replies.size() == 3 && replies[2].integer == 1) {
    throw sdk::PipeClosedError("the receiving end has been closed");
  }
}

void RedisListEnd::eof() {
  if (!eof_.exchange(true)) run(store_, {"LPUSH", in_, marker_});
  throw sdk::PipeClosedError("end of file: the sending end has been closed");
}

std::optional<std::string> RedisListEnd::recv(std::optional<std::chrono::milliseconds> timeout) {
  if (eof_) throw sdk::PipeClosedError("end of file: the sending end has been closed");
  std::string message;
  if (timeout && *timeout <= std::chrono::milliseconds::zero()) {
    auto r = run(store_, {"LPOP", in_});
    if (r.is_nil()) return std::nullopt;
    message = std::move(r.str);
  } else {
    auto r = blocking(store_, {"BLPOP", in_}, timeout);
    if (!r) return std::nullopt;
    if (r->type != sdk::Reply::Type::kArray || r->elements.size() != 2) {
      throw sdk::ConnectionError(store_.endpoint() + ": unexpected BLPOP reply");
    }
    message = std::move(r->elements[1].str);
  }
  if (message == marker_) eof();
  return message;
}

bool RedisListEnd::poll(std::chrono::milliseconds timeout) {
  if (eof_) return true;
  if (run(store_, {"LLEN", in_}).integer > 0) return true;
  if (timeout <= std::chrono::milliseconds::zero()) return false;
  // Moving the head of the list onto the head of the same list changes nothing, but blocks
  // until there is a head: a wait that leaves the message for recv (here or in another process).
  return blocking(store_, {"BLMOVE", in_, in_, "LEFT", "LEFT"}, timeout).has_value();
}

namespace {
// The id of the connection named `name` in CLIENT LIST, if any.
std::optional<std::string> client_id(sdk::StateStore& store, const std::string& name) {
  const std::string list = run(store, {"CLIENT", "LIST", "TYPE", "normal"}).str;
  const std::string needle = " name=" + name + " ";
  const auto at = list.find(needle);
  if (at == std::string::npos) return std::nullopt;
  const auto line = list.rfind('\n', at);
  const auto begin = line == std::string::npos ? 0 : line + 1;
  if (list.compare(begin, 3, "id=") != 0) return std::nullopt;
  const auto end = list.find(' ', begin);
  return list.substr(begin + 3, end - begin - 3);
}
}  // namespace

bool RedisListEnd::wait_ready(std::chrono::milliseconds timeout, std::stop_token stop) {
  if (poll(std::chrono::milliseconds::zero())) return true;
  static std::atomic<unsigned long long> counter{0};
  const std::string name =
      "lithops-wait-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
  // A Dekker-style handshake (both sides seq_cst): the waiter raises `blocking` before it looks
  // at `stopped` and sends its BLMOVE; the stopper raises `stopped` before it looks at
  // `blocking`. So either the waiter sees the stop and sends nothing, or the stopper sees the
  // BLMOVE (possibly not yet at the server) and retries CLIENT UNBLOCK until it is ended or the
  // waiter is back (a round trip or two).
  std::atomic<bool> blocking{false};
  std::atomic<bool> stopped{false};
  bool ready = false;
  {
    // Runs in the thread that requests the stop, or here at once if it already was.
    std::stop_callback wake(stop, [&] {
      stopped = true;
      while (blocking) {
        try {
          if (auto id = client_id(store_, name)) {
            if (run(store_, {"CLIENT", "UNBLOCK", *id}).integer == 1) return;
          }
        } catch (const std::exception&) {
          return;  // the waiter's own call fails or times out the same way
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds::zero()) break;
      const auto slice = std::min(left, sdk::kBlockingSlice);
      blocking = true;
      if (stopped) {
        blocking = false;
        break;
      }
      std::vector<sdk::Command> cmds{{"CLIENT", "SETNAME", name},
                                     {"BLMOVE", in_, in_, "LEFT", "LEFT", sdk::seconds_text(slice)},
                                     {"CLIENT", "SETNAME", ""}};
      std::vector<sdk::Reply> replies;
      try {
        replies = store_.execute_pipeline(cmds, slice + sdk::kBlockingMargin);
      } catch (...) {
        blocking = false;
        throw;
      }
      blocking = false;
      for (const auto& r : replies) {
        if (r.is_error()) {
          throw sdk::ConnectionError(store_.endpoint() + ": BLMOVE failed: " + r.str);
        }
      }
      if (replies.size() == 3 && !replies[1].is_nil()) {
        ready = true;
        break;
      }
    }
  }
  if (ready) return true;
  return poll(std::chrono::milliseconds::zero());
}

void RedisListEnd::close() {
  if (closed_.exchange(true)) return;
  std::vector<sdk::Command> cmds{{"RPUSH", out_, marker_},
                                 {"EXPIRE", out_, expiry_},
                                 {"SET", closed_flag_, "1", "EX", expiry_}};
  for (const auto& r : store_.execute_pipeline(cmds, kCommandTimeout)) {
    if (r.is_error()) throw sdk::ConnectionError(store_.endpoint() + ": close failed: " + r.str);
  }
}

RedisListTransport::RedisListTransport(const sdk::PluginContext& ctx)
    : store_(ctx.store), expiry_(std::to_string(ctx.expiry_seconds)) {
  if (!store_) {
    throw sdk::ConfigError("the redislist pipe transport needs the session's state store");
  }
}

// The lists come into being with their first message.
void RedisListTransport::create(const std::string&) {}

std::unique_ptr<sdk::PipeEnd> RedisListTransport::attach(const std::string& pipe_id, int end) {
  return std::make_unique<RedisListEnd>(*store_, pipe_id, end, expiry_);
}

void RedisListTransport::destroy(const std::string& pipe_id) {
  run(*store_, {"DEL", key(pipe_id, "to", 0), key(pipe_id, "to", 1), key(pipe_id, "closed", 0),
                key(pipe_id, "closed", 1)});
}

}  // namespace lithops::plugins::redislist
