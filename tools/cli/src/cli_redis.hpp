// The CLI's connection to the configured Redis (the `redis` config section), with a timeout on
// the connect and on every command, and the session bookkeeping `clean` and `sessions` share:
// a session's keys are `lithops:<12 hex digits>:...`, and a live session holds
// `lithops:<id>:alive` (core/src/liveness.hpp), refreshed by its driver.
#pragma once

#include <hiredis/hiredis.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lithops::cli {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

class RedisClient {
 public:
  // Connects as `redis` describes (unix_socket or host/port, username/password, db); every
  // connect and command fails with CliError after `timeout`.
  RedisClient(const boost::json::object& redis, std::chrono::milliseconds timeout);
  // Runs one command; an error reply, a lost connection or a timeout throw CliError.
  Reply command(const std::vector<std::string>& args);
  // SCAN MATCH `pattern`: calls `each` with every batch of keys found.
  void scan(const std::string& pattern,
            const std::function<void(const std::vector<std::string>&)>& each);
  const std::string& endpoint() const { return endpoint_; }

 private:
  struct ContextFree {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  std::unique_ptr<redisContext, ContextFree> c_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
};

// "lithops:<12 hex>:..." -> the session id; nullopt for keys that belong to no session
// (named objects shared across sessions, e.g. lithops:shm:{name}, lithops:manager:{name}).
std::optional<std::string> session_of(const std::string& key);

struct SessionKeys {
  long long keys = 0;                   // keys under the session prefix (the liveness key too)
  std::optional<std::string> liveness;  // the liveness key's value: set while the session runs
};

// Every session with keys in Redis (id -> its keys), and the count of lithops:* keys that belong
// to no session. `prefix` narrows to sessions whose id starts with it.
struct SessionScan {
  std::map<std::string, SessionKeys> sessions;
  long long unowned = 0;
};
SessionScan scan_sessions(RedisClient& redis, const std::string& prefix);

// The --timeout option's value as a duration (seconds, > 0).
std::chrono::milliseconds redis_timeout(double seconds);

}  // namespace lithops::cli
