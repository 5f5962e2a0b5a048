#include "cli_redis.hpp"

#include <cerrno>

#include <boost/json.hpp>

#include "cli_context.hpp"

namespace lithops::cli {
namespace json = boost::json;

namespace {

constexpr const char* kScanCount = "1000";
constexpr std::size_t kSessionIdLength = 12;

std::string text(const json::object& o, const char* key, std::string fallback = {}) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return fallback;
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  throw CliError(std::string("config redis.") + key + " must be a string or a number");
}

timeval to_timeval(std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(t.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((t.count() % 1000) * 1000);
  return tv;
}

}  // namespace

std::chrono::milliseconds redis_timeout(double seconds) {
  if (!(seconds > 0)) throw CliError("--timeout must be a positive number of seconds");
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

RedisClient::RedisClient(const json::object& redis, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  const std::string socket = text(redis, "unix_socket");
  const std::string host = text(redis, "host", "127.0.0.1");
  const std::string port = text(redis, "port", "6379");
  endpoint_ = socket.empty() ? host + ":" + port : socket;
  int port_number = 0;
  try {
    port_number = std::stoi(port);
  } catch (const std::exception&) {
    throw CliError("config redis.port is '" + port + "'; it must be a port number");
  }
  const timeval tv = to_timeval(timeout);
  c_.reset(socket.empty() ? redisConnectWithTimeout(host.c_str(), port_number, tv)
                          : redisConnectUnixWithTimeout(socket.c_str(), tv));
  if (!c_) throw CliError("cannot connect to redis at " + endpoint_);
  if (c_->err) {
    throw CliError("cannot connect to redis at " + endpoint_ + ": " + c_->errstr +
                   " (check the `redis` section of the config)");
  }
  if (redisSetTimeout(c_.get(), tv) != REDIS_OK) {
    throw CliError("cannot set a timeout on the connection to " + endpoint_);
  }
  const std::string password = text(redis, "password");
  const std::string username = text(redis, "username");
  if (!password.empty()) {
    if (username.empty()) {
      command({"AUTH", password});
    } else {
      command({"AUTH", username, password});
    }
  }
  const std::string db = text(redis, "db", "0");
  if (db != "0") command({"SELECT", db});
}

Reply RedisClient::command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  Reply r(static_cast<redisReply*>(
      redisCommandArgv(c_.get(), static_cast<int>(args.size()), argv.data(), lens.data())));
  if (!r) {
    // Never echo the arguments: AUTH carries the password.
    const bool timed_out = c_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
    throw CliError("redis at " + endpoint_ + " (" + args.front() + "): " +
                   (timed_out
                        ? "no answer within " + std::to_string(timeout_.count()) + " ms (--timeout)"
                        : std::string(c_->errstr[0] ? c_->errstr : "no reply")));
  }
  if (r->type == REDIS_REPLY_ERROR) {
    throw CliError("redis at " + endpoint_ + " answered " + args.front() +
                   " with: " + std::string(r->str, r->len));
  }
  return r;
}

void RedisClient::scan(const std::string& pattern,
                       const std::function<void(const std::vector<std::string>&)>& each) {
  std::string cursor = "0";
  do {
    auto r = command({"SCAN", cursor, "MATCH", pattern, "COUNT", kScanCount});
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) throw CliError("unexpected SCAN reply");
    cursor.assign(r->element[0]->str, r->element[0]->len);
    const redisReply* keys = r->element[1];
    std::vector<std::string> batch;
    batch.reserve(keys->elements);
    for (std::size_t i = 0; i < keys->elements; ++i) {
      batch.emplace_back(keys->element[i]->str, keys->element[i]->len);
    }
    if (!batch.empty()) each(batch);
  } while (cursor != "0");
}

std::optional<std::string> session_of(const std::string& key) {
  constexpr std::string_view kRoot = "lithops:";
  if (!key.starts_with(kRoot)) return std::nullopt;
  const auto end = key.find(':', kRoot.size());
  if (end == std::string::npos || end - kRoot.size() != kSessionIdLength) return std::nullopt;
  const std::string id = key.substr(kRoot.size(), kSessionIdLength);
  for (char ch : id) {
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return std::nullopt;
  }
  return id;
}

SessionScan scan_sessions(RedisClient& redis, const std::string& prefix) {
  SessionScan out;
  redis.scan("lithops:" + prefix + "*", [&](const std::vector<std::string>& keys) {
    for (const auto& key : keys) {
      if (auto id = session_of(key)) {
        ++out.sessions[*id].keys;
      } else {
        ++out.unowned;
      }
    }
  });
  // Read each liveness key after the scan: a session that started meanwhile wrote its key
  // before any other, so every session seen above that still runs has one now.
  for (auto& [id, s] : out.sessions) {
    auto r = redis.command({"GET", "lithops:" + id + ":alive"});
    if (r->type == REDIS_REPLY_STRING) s.liveness.emplace(r->str, r->len);
  }
  return out;
}

}  // namespace lithops::cli
