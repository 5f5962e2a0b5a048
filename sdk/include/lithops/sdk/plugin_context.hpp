// What a plugin receives when it is created: its configuration and, for plugins that keep their
// state in the shared store (pipes), the store itself.
#pragma once

#include <boost/json/object.hpp>
#include <string>

namespace lithops::sdk {

class StateStore;

struct PluginContext {
  // The whole effective Lithops configuration (config file merged with mp::config::LITHOPS_CONFIG).
  const boost::json::object* config = nullptr;
  // This plugin's own section (e.g. config["redis"] for the redis store); empty object if absent.
  const boost::json::object* section = nullptr;
  // Shared state of this session; set for pipe transports, null for state stores.
  StateStore* store = nullptr;
  // Prefix under which every key of this driver session lives ("lithops:<session>:").
  std::string key_prefix;
  // Seconds every key created for this session must expire after (REDIS_EXPIRY_TIME).
  long long expiry_seconds = 3600;
  // The name this plugin was loaded under (what its export macro says, and its file's
  // liblithops_<kind>_<name>.so) and the file it was loaded from (ABI version 4). An executor
  // hands both to its workers through worker_environment() (worker_launch.hpp).
  std::string plugin_name;
  std::string plugin_file;
};

}  // namespace lithops::sdk
