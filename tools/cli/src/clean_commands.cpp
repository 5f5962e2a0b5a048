// `lithops clean`: deletes what crashed sessions left in the configured Redis: every key under
// `lithops:` (SCAN + UNLINK in batches), or only those of sessions whose id starts with
// --session. --dry-run counts them per session instead. Without a `redis` config section the
// session's Redis was a private server, which dies with its driver: nothing to clean.
#include <hiredis/hiredis.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli_context.hpp"

namespace lithops::cli {
namespace json = boost::json;

namespace {

constexpr const char* kScanCount = "1000";

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;
struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Connection = std::unique_ptr<redisContext, ContextFree>;

std::string text(const json::object& o, const char* key, std::string fallback = {}) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return fallback;
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  throw CliError(std::string("config redis.") + key + " must be a string or a number");
}

Reply command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  Reply r(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())));
  if (!r) throw CliError(std::string("redis: ") + (c->errstr[0] ? c->errstr : "no reply"));
  if (r->type == REDIS_REPLY_ERROR) {
    throw CliError("redis " + args.front() + ": " + std::string(r->str, r->len));
  }
  return r;
}

Connection connect(const json::object& redis) {
  const std::string socket = text(redis, "unix_socket");
  const std::string host = text(redis, "host", "127.0.0.1");
  const std::string port = text(redis, "port", "6379");
  Connection c(socket.empty() ? redisConnect(host.c_str(), std::stoi(port))
                              : redisConnectUnix(socket.c_str()));
  const std::string where = socket.empty() ? host + ":" + port : socket;
  if (!c) throw CliError("cannot connect to redis at " + where);
  if (c->err) throw CliError("cannot connect to redis at " + where + ": " + c->errstr);
  const std::string password = text(redis, "password");
  const std::string username = text(redis, "username");
  if (!password.empty()) {
    if (username.empty()) {
      command(c.get(), {"AUTH", password});
    } else {
      command(c.get(), {"AUTH", username, password});
    }
  }
  const std::string db = text(redis, "db", "0");
  if (db != "0") command(c.get(), {"SELECT", db});
  return c;
}

// "lithops:<session>:..." -> "<session>".
std::string session_of(const std::string& key) {
  const auto start = key.find(':') + 1;
  const auto end = key.find(':', start);
  return key.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

void clean(CliContext& context, bool dry_run, const std::string& session) {
  const json::object* redis = context.section("redis");
  if (!redis) {
    std::cout << "No `redis` section in the configuration: sessions use a private Redis server "
                 "that ends with its driver, so there is nothing to clean.\n";
    return;
  }
  auto c = connect(*redis);
  const std::string pattern = "lithops:" + session + "*";
  std::map<std::string, long long> per_session;
  long long found = 0, removed = 0;
  std::string cursor = "0";
  do {
    auto r = command(c.get(), {"SCAN", cursor, "MATCH", pattern, "COUNT", kScanCount});
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) throw CliError("unexpected SCAN reply");
    cursor.assign(r->element[0]->str, r->element[0]->len);
    const redisReply* keys = r->element[1];
    if (keys->elements == 0) continue;
    std::vector<std::string> unlink{"UNLINK"};
    for (std::size_t i = 0; i < keys->elements; ++i) {
      std::string key(keys->element[i]->str, keys->element[i]->len);
      ++per_session[session_of(key)];
      unlink.push_back(std::move(key));
    }
    found += static_cast<long long>(keys->elements);
    if (!dry_run) removed += command(c.get(), unlink)->integer;
  } while (cursor != "0");

  if (dry_run) {
    for (const auto& [s, n] : per_session) std::cout << "session " << s << ": " << n << " keys\n";
    std::cout << found << " keys match " << pattern << " (dry run: nothing removed)\n";
  } else {
    std::cout << "Removed " << removed << " keys matching " << pattern << "\n";
  }
}

}  // namespace

void add_clean_commands(CLI::App& app, CliContext& context) {
  auto* cmd = app.add_subcommand(
      "clean", "delete the keys Lithops sessions left in the configured Redis (lithops:*)");
  auto dry_run = std::make_shared<bool>(false);
  auto session = std::make_shared<std::string>();
  cmd->add_flag("--dry-run", *dry_run, "count the keys per session, remove nothing");
  cmd->add_option("--session", *session, "only sessions whose id starts with this prefix");
  cmd->callback([&context, dry_run, session] { clean(context, *dry_run, *session); });
}

}  // namespace lithops::cli
