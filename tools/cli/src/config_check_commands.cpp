// `lithops config check`: validates the config file as the library does (JSON, section and key
// types, unknown names with the nearest valid one), then checks that the plugins it names load,
// and that Redis answers (PING, with a timeout) or, without a `redis` section, that the
// redis-server the session would start is on PATH. Names each failing item; exit status 3 when
// one fails. Whether the backend runs a Process end to end is `lithops hello`'s job.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli_context.hpp"
#include "cli_redis.hpp"
#include "config_internal.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "plugin_loader.hpp"
#include "smoke.hpp"

namespace lithops::cli {
namespace json = boost::json;
namespace mpd = lithops::multiprocessing::detail;
namespace fs = std::filesystem;

namespace {

struct Report {
  int failures = 0;
  void ok(const std::string& what) { std::cout << "ok    " << what << "\n"; }
  void fail(const std::string& what) {
    std::cout << "FAIL  " << what << "\n";
    ++failures;
  }
};

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

int check(CliContext& context, double timeout) {
  apply_cli_config(context);
  Report r;
  json::object config;
  try {
    const auto file = mpd::find_config_file();
    if (file) {
      mpd::load_config_file(*file);  // throws naming the file, the line and the problem
      r.ok("config file " + file->string() + " is valid");
    } else {
      r.ok("no config file: the defaults (localhost backend, private redis-server)");
    }
    config = mpd::effective_config();
  } catch (const std::exception& e) {
    r.fail(e.what());
    std::cout << "1 problem\n";
    return kExitBroken;
  }
  const auto plugins = plugins_in_use(config);
  const std::pair<std::string, std::string> wanted[] = {
      {"executor", plugins.backend}, {"state", plugins.state}, {"pipe", plugins.pipe}};
  const auto files = mpd::scan_plugin_files();
  for (const auto& [kind, name] : wanted) {
    const mpd::PluginFile* found = nullptr;
    for (const auto& f : files) {
      if (f.kind == kind && f.name == name && f.shadowed_by.empty()) found = &f;
    }
    if (!found) {
      r.fail(kind + " plugin '" + name + "' is not on the plugin path (`lithops plugins --path`)");
    } else if (!found->problem.empty()) {
      r.fail(kind + " plugin '" + name + "' (" + found->file.string() + "): " + found->problem);
    } else {
      r.ok(kind + " plugin '" + name + "' loads (" + found->file.string() + ")");
    }
  }
  const auto* redis = config.if_contains("redis");
  if (redis && redis->is_object()) {
    try {
      RedisClient c(redis->as_object(), redis_timeout(timeout));
      c.command({"PING"});
      r.ok("redis at " + c.endpoint() + " answers PING");
    } catch (const std::exception& e) {
      r.fail(e.what());
    }
  } else if (on_path("redis-server")) {
    r.ok("no `redis` section: sessions start a private redis-server (found on PATH)");
  } else {
    r.fail(
        "no `redis` section and no redis-server on PATH: install redis-server or configure "
        "a `redis` section");
  }
  std::cout << (r.failures == 0 ? "configuration OK" : std::to_string(r.failures) + " problem(s)")
            << "; `lithops hello` runs a Process on the backend\n";
  return r.failures == 0 ? 0 : kExitBroken;
}

}  // namespace

void add_config_check_commands(CLI::App& app, CliContext& context) {
  auto* config = app.get_subcommand("config");
  auto* cmd = config->add_subcommand(
      "check", "validate the config file, the plugins it names, and that Redis answers");
  cmd->footer(
      "Examples:\n"
      "  lithops config check\n"
      "  lithops --config lambda.json config check --timeout 3\n"
      "Exit status: 0 all checks pass, 3 one or more fail.");
  auto timeout = std::make_shared<double>(10);
  cmd->add_option("--timeout", *timeout, "seconds the Redis check may take (default 10)");
  cmd->callback([&context, timeout] { context.exit_code = check(context, *timeout); });
}

}  // namespace lithops::cli
