#include "redis_store.hpp"

#include <poll.h>

#include <cerrno>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "lithops/sdk/errors.hpp"

namespace lithops::plugins::redis {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const boost::json::object& section_of(const sdk::PluginContext& ctx) {
  static const boost::json::object kEmpty;
  return ctx.section != nullptr ? *ctx.section : kEmpty;
}

// A message of a subscribed connection: ["message", channel, payload]. Anything else (subscribe
// confirmations, pongs) is not for the caller.
std::optional<sdk::PubSubMessage> as_message(const redisReply& r) {
  if (r.type != REDIS_REPLY_ARRAY || r.elements != 3) return std::nullopt;
  const redisReply& kind = *r.element[0];
  if (kind.type != REDIS_REPLY_STRING || std::string_view(kind.str, kind.len) != "message") {
    return std::nullopt;
  }
  return sdk::PubSubMessage{std::string(r.element[1]->str, r.element[1]->len),
                            std::string(r.element[2]->str, r.element[2]->len)};
}

class RedisSubscription final : public sdk::Subscription {
 public:
  RedisSubscription(Connection conn, std::string address, std::span<const std::string> channels,
                    milliseconds confirm_timeout)
      : conn_(std::move(conn)), address_(std::move(address)) {
    std::vector<std::string_view> args{"SUBSCRIBE"};
    args.insert(args.end(), channels.begin(), channels.end());
    with_argv(std::span<const std::string_view>(args),
              [&](int argc, const char** argv, const std::size_t* lens) {
                conn_.append(argc, argv, lens);
              });
    if (!conn_.set_timeout(confirm_timeout)) conn_.fail(errno, address_, "SUBSCRIBE");
    if (!conn_.flush()) conn_.fail(errno, address_, "SUBSCRIBE");
    // One confirmation per channel. Redis sends them before any message on those channels, but
    // keep whatever else arrives rather than lose it.
    for (std::size_t confirmed = 0; confirmed < channels.size();) {
      ReplyPtr reply = conn_.read_reply();
      if (!reply) conn_.fail(errno, address_, "SUBSCRIBE");
      if (reply->type == REDIS_REPLY_ERROR) {
        throw sdk::ConnectionError("redis at " + address_ +
                                   " refused SUBSCRIBE: " + std::string(reply->str, reply->len));
      }
      if (auto m = as_message(*reply)) {
        pending_.push_back(std::move(*m));
      } else {
        ++confirmed;
      }
    }
  }

  // Waits with poll() and reads only what is there, so a timeout leaves the hiredis context
  // healthy (a blocking read that times out would put it in an error state for good).
  std::optional<sdk::PubSubMessage> next(milliseconds timeout) override {
    if (!pending_.empty()) {
      sdk::PubSubMessage m = std::move(pending_.front());
      pending_.pop_front();
      return m;
    }
    redisContext* c = conn_.get();
    const auto deadline = Clock::now() + timeout;
    while (true) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(c, &raw) != REDIS_OK) conn_.fail(errno, address_, "subscription");
      if (raw != nullptr) {
        ReplyPtr reply(static_cast<redisReply*>(raw));
        if (auto m = as_message(*reply)) return m;
        continue;
      }
      if (conn_.buffered()) {  // decrypted TLS bytes poll() cannot see
        if (!conn_.fill()) conn_.fail(errno, address_, "subscription");
        continue;
      }
      const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
      pollfd p{c->fd, POLLIN, 0};
      const int n =
          ::poll(&p, 1, static_cast<int>(std::clamp<long long>(left.count(), 0, INT32_MAX)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) conn_.fail(errno, address_, "subscription poll");
      if (n == 0) return std::nullopt;
      if (!conn_.fill()) conn_.fail(errno, address_, "subscription");
    }
  }

 private:
  Connection conn_;
  std::string address_;
  std::deque<sdk::PubSubMessage> pending_;
};

}  // namespace

RedisStore::RedisStore(const sdk::PluginContext& ctx)
    : section_(section_of(ctx)),
      config_(RedisConfig::parse(section_)),
      address_(config_.address()),
      tls_(config_.tls ? std::make_unique<TlsContext>(config_) : nullptr) {
  idle_.reserve(config_.pool_size);
  give_back(Connection::open(config_, address_, tls_.get()));
}

RedisStore::~RedisStore() = default;

Connection RedisStore::borrow() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      Connection conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
  }
  // All busy (or none yet): connect outside the lock so others keep going meanwhile.
  return Connection::open(config_, address_, tls_.get());
}

void RedisStore::give_back(Connection conn) noexcept {
  {
    std::lock_guard lock(mu_);
    if (idle_.size() < config_.pool_size) {
      idle_.push_back(std::move(conn));
      return;
    }
  }
  // Beyond pool_size: `conn` is closed here, outside the lock.
}

std::size_t RedisStore::idle_connections() const {
  std::lock_guard lock(mu_);
  return idle_.size();
}

sdk::Reply RedisStore::execute(sdk::CommandArgs args, milliseconds timeout) {
  if (args.empty()) throw std::invalid_argument("RedisStore::execute: empty command");
  // On any exception below `conn` is destroyed, never returned: its state is unknown.
  Connection conn = borrow();
  if (!conn.set_timeout(timeout)) conn.fail(errno, address_, "setting the socket timeout");
  ReplyPtr reply = with_argv(args, [&](int argc, const char** argv, const std::size_t* lens) {
    return conn.command(argc, argv, lens);
  });
  if (!reply) conn.fail(errno, address_, "command");
  sdk::Reply out = to_reply(*reply);
  reply.reset();
  give_back(std::move(conn));
  return out;
}

std::vector<sdk::Reply> RedisStore::execute_pipeline(std::span<const sdk::Command> commands,
                                                     milliseconds timeout) {
  return execute_pipeline_into(commands, {}, timeout);
}

std::vector<sdk::Reply> RedisStore::execute_pipeline_into(
    std::span<const sdk::Command> commands, std::span<const std::span<std::byte>> into,
    milliseconds timeout) {
  if (into.size() > commands.size()) {
    throw std::invalid_argument(
        "RedisStore::execute_pipeline_into: " + std::to_string(into.size()) + " buffers for " +
        std::to_string(commands.size()) + " commands");
  }
  std::vector<sdk::Reply> out;
  if (commands.empty()) return out;
  for (const auto& cmd : commands) {
    if (cmd.empty()) throw std::invalid_argument("RedisStore::execute_pipeline: empty command");
  }
  Connection conn = borrow();
  if (!conn.set_timeout(timeout)) conn.fail(errno, address_, "setting the socket timeout");
  // Encode everything, send it in one go, then read the replies: one round trip.
  for (const auto& cmd : commands) {
    with_argv(std::span<const std::string>(cmd),
              [&](int argc, const char** argv, const std::size_t* lens) {
                conn.append(argc, argv, lens);
              });
  }
  if (!conn.flush()) conn.fail(errno, address_, "pipeline");
  out.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (i < into.size()) {
      // A string reply straight from the socket into the caller's buffer.
      if (!conn.read_reply_into(into[i], out.emplace_back()))
        conn.fail(errno, address_, "pipeline");
      continue;
    }
    ReplyPtr reply = conn.read_reply();
    if (!reply) conn.fail(errno, address_, "pipeline");
    out.push_back(to_reply(*reply));
  }
  give_back(std::move(conn));
  return out;
}

std::unique_ptr<sdk::Subscription> RedisStore::subscribe(std::span<const std::string> channels) {
  if (channels.empty()) throw std::invalid_argument("RedisStore::subscribe: no channels");
  return std::make_unique<RedisSubscription>(Connection::open(config_, address_, tls_.get()),
                                             address_, channels, config_.connect_timeout);
}

}  // namespace lithops::plugins::redis
