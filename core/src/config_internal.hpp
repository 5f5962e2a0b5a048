// Configuration loading: design.md §3.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <boost/json/object.hpp>

namespace lithops::multiprocessing::detail {

// $LITHOPS_CONFIG_FILE, else ./.lithops_config.json, else ~/.lithops/config.json; nullopt if none.
// A set LITHOPS_CONFIG_FILE that names a missing file is an error, not a fallback.
std::optional<std::filesystem::path> find_config_file();

// Parses and validates a config file; mp::ConfigError names the file, the line and the problem.
boost::json::object load_config_file(const std::filesystem::path& file);

// Checks a whole config: 'lithops' against the core's keys (its backend / state_store must name
// plugins on the plugin path: ValueError listing those found), every other section against the
// declaration of the plugin of that name (wrong type or range: ConfigError naming the key and
// what it expects; unknown key: a warning naming the nearest declared one); a section no plugin
// is named after is a warning.
void validate_config(const boost::json::object& config, const std::string& origin);

// Replaces the values of keys that plugins declare secret (config_schema.hpp) with "****".
void mask_declared_secrets(boost::json::object& config);

// Deep merge: objects merge key by key, anything else in `over` replaces.
void merge_into(boost::json::object& base, const boost::json::object& over);

// The effective config: embedded defaults < config file < mp::config LITHOPS_CONFIG.
boost::json::object effective_config();

// The multiprocessing parameters (mp::config) as typed values.
struct Parameters {
  bool stream_stdout = false;
  long long redis_expiry_time = 3600;
  std::string pipe_connection_type = "redislist";
  boost::json::object env_vars;
  std::optional<std::string> export_execution_details;
};
Parameters parameters();

}  // namespace lithops::multiprocessing::detail
