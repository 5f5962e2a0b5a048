// lithops: the command-line tool. Command groups live one per file (runtime_commands.cpp, ...)
// and register themselves through cli_context.hpp.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli_context.hpp"
#include "lithops/multiprocessing/init.hpp"
#include "lithops/sdk/errors.hpp"
#include "plugin_check_commands.hpp"

int main(int argc, char** argv) {
  // `lithops hello` and `lithops test` run Processes whose worker is this same binary: started
  // by a backend, it serves invocations here and never returns.
  // `lithops plugin check` starts workers that are this program again: they serve here too.
  lithops::multiprocessing::init(argc, argv);
  CLI::App app{"Lithops C++: Python's multiprocessing API on serverless functions"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  lithops hello                 # one Process on the configured backend\n"
      "  lithops test                  # every primitive, pass/fail with timings\n"
      "  lithops clean --dry-run       # what dead sessions left in Redis\n"
      "Exit status: 0 success, 1 error, 2 usage error, 3 a check found a problem (docs/cli.md).");
  lithops::cli::CliContext context;
  app.add_option("--config", context.config_file,
                 "Lithops config file (default: $LITHOPS_CONFIG_FILE, ./.lithops_config.json, "
                 "~/.lithops/config.json)");
  lithops::cli::add_runtime_commands(app, context);
  lithops::cli::add_config_commands(app, context);
  lithops::cli::add_clean_commands(app, context);
  lithops::cli::add_plugins_commands(app, context);
  lithops::cli::add_sessions_commands(app, context);
  lithops::cli::add_hello_commands(app, context);
  lithops::cli::add_test_commands(app, context);
  lithops::cli::add_config_check_commands(app, context);
  lithops::cli::add_plugin_commands(app, context);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // --help: 0
    return rc == 0 ? 0 : lithops::cli::kExitUsage;
  } catch (const lithops::cli::CliError& e) {
    std::cerr << "lithops: " << e.what() << "\n";
    return lithops::cli::kExitError;
  } catch (const lithops::sdk::PluginError& e) {
    std::cerr << "lithops: " << e.what() << "\n";
    return lithops::cli::kExitError;
  } catch (const std::exception& e) {
    std::cerr << "lithops: " << e.what() << "\n";
    return lithops::cli::kExitError;
  }
  return context.exit_code;
}
