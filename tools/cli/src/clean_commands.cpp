// `lithops clean`: deletes what dead sessions left in the configured Redis. A session is live
// while its driver refreshes `lithops:<id>:alive` (core/src/liveness.hpp); the keys of every
// session without that key are removed (SCAN + UNLINK in batches), those of live sessions stay.
// --all removes every lithops:* key, live sessions' and named objects' too; --dry-run lists what
// would go and removes nothing; --session narrows to ids with a prefix. Every Redis call has a
// timeout (--timeout). Without a `redis` config section the session's Redis was a private server,
// which dies with its driver: nothing to clean.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli_context.hpp"
#include "cli_redis.hpp"

namespace lithops::cli {

namespace {

struct CleanOptions {
  bool dry_run = false;
  bool all = false;
  std::string session;
  double timeout = 10;
};

// Deletes the keys matching `pattern`; returns how many were removed.
long long unlink_matching(RedisClient& redis, const std::string& pattern) {
  long long removed = 0;
  redis.scan(pattern, [&](const std::vector<std::string>& keys) {
    std::vector<std::string> args{"UNLINK"};
    args.insert(args.end(), keys.begin(), keys.end());
    removed += redis.command(args)->integer;
  });
  return removed;
}

void clean(CliContext& context, const CleanOptions& o) {
  const boost::json::object* section = context.section("redis");
  if (!section) {
    std::cout << "No `redis` section in the configuration: sessions use a private Redis server "
                 "that ends with its driver, so there is nothing to clean.\n";
    return;
  }
  RedisClient redis(*section, redis_timeout(o.timeout));
  const auto found = scan_sessions(redis, o.session);
  const char* verb = o.dry_run ? "would remove" : "removed";
  long long removed = 0, kept = 0;
  for (const auto& [id, s] : found.sessions) {
    const bool live = s.liveness.has_value();
    if (live && !o.all) {
      std::cout << "session " << id << ": live, " << s.keys << " keys kept\n";
      kept += s.keys;
      continue;
    }
    const long long n = o.dry_run ? s.keys : unlink_matching(redis, "lithops:" + id + ":*");
    std::cout << "session " << id << ": " << (live ? "live" : "dead") << ", " << verb << " " << n
              << " keys\n";
    removed += n;
  }
  if (found.unowned > 0) {
    if (o.all) {
      long long n = found.unowned;
      if (!o.dry_run) {
        // Named objects (lithops:shm:{..}, lithops:manager:{..}): every non-session key.
        n = 0;
        redis.scan("lithops:" + o.session + "*", [&](const std::vector<std::string>& keys) {
          std::vector<std::string> args{"UNLINK"};
          for (const auto& k : keys) {
            if (!session_of(k)) args.push_back(k);
          }
          if (args.size() > 1) n += redis.command(args)->integer;
        });
      }
      std::cout << "named objects: " << verb << " " << n << " keys\n";
      removed += n;
    } else {
      std::cout << "named objects (lithops:shm:*, lithops:manager:*): " << found.unowned
                << " keys kept (they expire with REDIS_EXPIRY_TIME; --all removes them)\n";
      kept += found.unowned;
    }
  }
  std::cout << (o.dry_run ? "Dry run: would remove " : "Removed ") << removed << " keys, kept "
            << kept << " (" << redis.endpoint() << ")\n";
}

}  // namespace

void add_clean_commands(CLI::App& app, CliContext& context) {
  auto* cmd = app.add_subcommand(
      "clean", "delete the keys dead Lithops sessions left in the configured Redis");
  cmd->footer(
      "A session is live while its driver refreshes lithops:<id>:alive; the keys of the others\n"
      "are removed. Examples:\n"
      "  lithops clean --dry-run        # list what would be removed\n"
      "  lithops clean                  # remove dead sessions' keys\n"
      "  lithops clean --all            # remove every lithops:* key, live sessions' too");
  auto o = std::make_shared<CleanOptions>();
  cmd->add_flag("--dry-run", o->dry_run, "list what would be removed, remove nothing");
  cmd->add_flag("--all", o->all,
                "remove every lithops:* key, including live sessions' and named objects'");
  cmd->add_option("--session", o->session, "only sessions whose id starts with this prefix");
  cmd->add_option("--timeout", o->timeout, "seconds each Redis call may take (default 10)");
  cmd->callback([&context, o] { clean(context, *o); });
}

}  // namespace lithops::cli
