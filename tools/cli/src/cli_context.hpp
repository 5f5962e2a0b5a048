// What every `lithops` command group shares: the Lithops configuration, read lazily, from the
// same places as the library reads it (design.md §3) unless --config names a file.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace CLI {
class App;
}

namespace lithops::cli {

// Exit statuses (docs/cli.md): 0 success; 1 an error (bad config, unreachable service), reported
// on stderr; 2 a usage error (unknown verb or option); 3 a check found a problem (`plugins` a
// plugin that cannot load, `hello` no answer, `test` a failed primitive).
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitBroken = 3;

// A failure to report to the user and exit with status 1 (no stack, just the message).
class CliError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CliContext {
 public:
  std::string config_file;  // --config; empty = the standard search
  int exit_code = 0;        // set by a verb that reports a status (kExitBroken)
  // The parsed config ({} when there is none). Throws CliError for an unreadable or invalid file.
  const boost::json::object& config();
  // A section of it ({} when absent).
  const boost::json::object* section(const std::string& name);

 private:
  std::optional<boost::json::object> config_;
};

// Command groups: each adds its subcommands to `app`. One file per group (runtime_commands.cpp,
// and later clean / config ones).
void add_runtime_commands(CLI::App& app, CliContext& context);
void add_config_commands(CLI::App& app, CliContext& context);
void add_clean_commands(CLI::App& app, CliContext& context);
void add_plugins_commands(CLI::App& app, CliContext& context);
void add_sessions_commands(CLI::App& app, CliContext& context);
void add_hello_commands(CLI::App& app, CliContext& context);
void add_test_commands(CLI::App& app, CliContext& context);
void add_config_check_commands(CLI::App& app, CliContext& context);  // after add_config_commands

}  // namespace lithops::cli
