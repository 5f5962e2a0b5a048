// lithops: the command-line tool. Command groups live one per file (runtime_commands.cpp, ...)
// and register themselves through cli_context.hpp.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli_context.hpp"
#include "lithops/multiprocessing/init.hpp"
#include "lithops/sdk/errors.hpp"
#include "plugin_check_commands.hpp"

int main(int argc, char** argv) {
  // `lithops plugin check` starts workers that are this program again: they serve here.
  lithops::multiprocessing::init(argc, argv);
  CLI::App app{"Lithops C++: Python's multiprocessing API on serverless functions"};
  app.require_subcommand(1);
  lithops::cli::CliContext context;
  app.add_option("--config", context.config_file,
                 "Lithops config file (default: $LITHOPS_CONFIG_FILE, ./.lithops_config.json, "
                 "~/.lithops/config.json)");
  lithops::cli::add_runtime_commands(app, context);
  lithops::cli::add_config_commands(app, context);
  lithops::cli::add_clean_commands(app, context);
  lithops::cli::add_plugin_commands(app, context);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const lithops::cli::CliError& e) {
    std::cerr << "lithops: " << e.what() << "\n";
    return 1;
  } catch (const lithops::sdk::PluginError& e) {
    std::cerr << "lithops: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "lithops: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
