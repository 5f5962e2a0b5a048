// What `lithops hello` and `lithops test` share: the CLI's --config handed to the library, and
// the plugins a session on that config uses.
#pragma once

#include <boost/json/object.hpp>
#include <string>

namespace lithops::cli {

class CliContext;

// Makes the library read the file --config names (as LITHOPS_CONFIG_FILE), before any session.
void apply_cli_config(CliContext& context);

struct PluginsInUse {
  std::string backend;  // executor plugin (lithops.backend)
  std::string state;    // state store plugin (lithops.state_store)
  std::string pipe;     // pipe transport (PIPE_CONNECTION_TYPE)
};
PluginsInUse plugins_in_use(const boost::json::object& config);

}  // namespace lithops::cli
