// `lithops sessions`: the sessions that have keys in the configured Redis, live (their driver
// refreshes lithops:<id>:alive) or dead (`lithops clean` would remove them), with their age,
// host, pid and backend (from the liveness key) and their key count.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli_context.hpp"
#include "cli_redis.hpp"

namespace lithops::cli {
namespace json = boost::json;

namespace {

std::string age_text(long long seconds) {
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds / 3600) + "h";
}

void list_sessions(CliContext& context, double timeout) {
  const json::object* section = context.section("redis");
  if (!section) {
    std::cout << "No `redis` section in the configuration: each session runs its own private "
                 "Redis server, which nothing else can see.\n";
    return;
  }
  RedisClient redis(*section, redis_timeout(timeout));
  const auto found = scan_sessions(redis, "");
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  std::cout << std::left << std::setw(14) << "SESSION" << std::setw(7) << "STATE" << std::setw(7)
            << "AGE" << std::setw(7) << "KEYS"
            << "DRIVER\n";
  int live = 0, dead = 0;
  for (const auto& [id, s] : found.sessions) {
    std::string age = "-", driver = "-";
    if (s.liveness) {
      ++live;
      boost::system::error_code ec;
      const auto v = json::parse(*s.liveness, ec);
      if (!ec && v.is_object()) {
        const auto& o = v.as_object();
        if (const auto* t = o.if_contains("started"); t && t->is_number()) {
          age = age_text(now - t->to_number<long long>());
        }
        const auto str = [&](const char* k) -> std::string {
          const auto* x = o.if_contains(k);
          if (!x) return "?";
          return x->is_string() ? std::string(x->as_string()) : json::serialize(*x);
        };
        driver = str("host") + " pid " + str("pid") + " (" + str("backend") + ")";
      }
    } else {
      ++dead;
    }
    std::cout << std::setw(14) << id << std::setw(7) << (s.liveness ? "live" : "dead")
              << std::setw(7) << age << std::setw(7) << s.keys << driver << "\n";
  }
  std::cout << live << " live, " << dead << " dead";
  if (found.unowned > 0) std::cout << "; " << found.unowned << " keys of named objects";
  std::cout << " (" << redis.endpoint() << ")";
  if (dead > 0) std::cout << "; `lithops clean` removes the dead sessions' keys";
  std::cout << "\n";
}

}  // namespace

void add_sessions_commands(CLI::App& app, CliContext& context) {
  auto* cmd = app.add_subcommand(
      "sessions", "list the sessions with keys in the configured Redis: live or dead, age, keys");
  cmd->footer(
      "A session is live while its driver refreshes lithops:<id>:alive (every liveness_ttl/3 s).\n"
      "Example:\n"
      "  lithops sessions");
  auto timeout = std::make_shared<double>(10);
  cmd->add_option("--timeout", *timeout, "seconds each Redis call may take (default 10)");
  cmd->callback([&context, timeout] { list_sessions(context, *timeout); });
}

}  // namespace lithops::cli
