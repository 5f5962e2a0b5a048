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

// A failure to report to the user and exit with status 1 (no stack, just the message).
class CliError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CliContext {
 public:
  std::string config_file;  // --config; empty = the standard search
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

}  // namespace lithops::cli
