#include "redislist_transport.hpp"

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
