// `lithops hello`: one Process on the configured backend, and where it ran, how long its cold
// start took, and the backend, state store and pipe plugins in use. The `lithops` binary is a
// Lithops program itself (mp::init in main.cpp), so the backend runs it as its own worker.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <lithops/multiprocessing.hpp>
#include <memory>
#include <optional>
#include <string>

#include "cli_context.hpp"
#include "config_internal.hpp"
#include "plugin_loader.hpp"
#include "smoke.hpp"

namespace mp = lithops::multiprocessing;
namespace mpd = lithops::multiprocessing::detail;

namespace lithops::cli {
namespace {

// Runs in the worker: reports where.
void hello_report(mp::Queue<std::string> out) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  out.put(boost::json::serialize(boost::json::object{{"host", host},
                                                     {"pid", static_cast<long long>(::getpid())},
                                                     {"name", mp::current_process().name}}));
}

std::string plugin_file(const std::string& kind, const std::string& name) {
  for (const auto& p : mpd::scan_plugin_files()) {
    if (p.kind == kind && p.name == name && p.shadowed_by.empty()) {
      return p.file.string() + (p.problem.empty() ? "" : " (BROKEN: " + p.problem + ")");
    }
  }
  return "(not found on the plugin path: `lithops plugins --path`)";
}

int hello(CliContext& context, double timeout) {
  apply_cli_config(context);
  const auto config = mpd::effective_config();
  const auto plugins = plugins_in_use(config);
  std::cout << "backend     " << plugins.backend << "  " << plugin_file("executor", plugins.backend)
            << "\nstate store " << plugins.state << "  " << plugin_file("state", plugins.state)
            << "\npipes       " << plugins.pipe << "  " << plugin_file("pipe", plugins.pipe)
            << std::endl;
  mp::Queue<std::string> q;
  const auto t0 = std::chrono::steady_clock::now();
  mp::Process p(hello_report, q);
  p.start();
  std::optional<std::string> got;
  try {
    got = q.get(std::chrono::duration<double>(timeout));
  } catch (const mp::Empty&) {
  }
  const auto cold = std::chrono::steady_clock::now() - t0;
  p.join(std::chrono::duration<double>(timeout));
  if (!got) {
    std::cerr << "lithops: hello: no answer from the Process within " << timeout << " s (exitcode "
              << (p.exitcode() ? std::to_string(*p.exitcode()) : "none")
              << "); check the backend's section of the config and `lithops plugins`\n";
    return kExitBroken;
  }
  const auto v = boost::json::parse(*got).as_object();
  std::cout << "Hello from " << std::string(v.at("name").as_string()) << " on host "
            << std::string(v.at("host").as_string()) << ", pid " << v.at("pid").as_int64()
            << " (driver pid " << ::getpid() << ")\n"
            << "cold start (start -> first message): " << std::fixed << std::setprecision(1)
            << std::chrono::duration<double, std::milli>(cold).count() << " ms\n"
            << "exitcode " << (p.exitcode() ? std::to_string(*p.exitcode()) : "none") << "\n";
  return p.exitcode() == 0 ? 0 : kExitBroken;
}

}  // namespace
}  // namespace lithops::cli

LITHOPS_FUNCTION(lithops::cli::hello_report);

namespace lithops::cli {

void add_hello_commands(CLI::App& app, CliContext& context) {
  auto* cmd = app.add_subcommand(
      "hello", "run one Process on the configured backend: where it ran, cold start, plugins");
  cmd->footer(
      "Example:\n"
      "  lithops hello                      # on the backend of the config file\n"
      "  lithops --config lambda.json hello\n"
      "Exit status: 0 the Process ran, 3 it did not answer or failed, 1 configuration error.");
  auto timeout = std::make_shared<double>(120);
  cmd->add_option("--timeout", *timeout, "seconds to wait for the Process (default 120)");
  cmd->callback([&context, timeout] { context.exit_code = hello(context, *timeout); });
}

}  // namespace lithops::cli
