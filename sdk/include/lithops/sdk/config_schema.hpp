// What a plugin declares about its configuration section: the core validates the section from it
// (unknown key: a warning naming the nearest declared key; wrong type or out of range: an error
// naming the key and what it expects) and `lithops config show` masks the keys declared secret.
//
//   const lithops::sdk::ConfigSchema kSchema{
//       "forkexec", "runs each invocation in a new child process",
//       {{"max_children", lithops::sdk::ConfigType::kInteger, "children at once", "16", 1, 4096},
//        {"token", lithops::sdk::ConfigType::kString, "API token", "", {}, {}, true}}};
//   LITHOPS_EXECUTOR_PLUGIN("forkexec", Executor, WorkerRuntime)
//   LITHOPS_PLUGIN_CONFIG(kSchema)
//
// The core validates config[<plugin name>] with the declaration of the plugin of that name;
// `section` repeats that name for docs and `lithops plugin check` (which checks they agree). A
// plugin that declares nothing gets its section accepted with any keys (no validation, only the
// heuristic masking of key names such as "password").
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lithops::sdk {

enum class ConfigType { kString, kInteger, kNumber, kBool, kObject, kArray };

inline const char* config_type_name(ConfigType t) {
  switch (t) {
    case ConfigType::kString:
      return "a string";
    case ConfigType::kInteger:
      return "an integer";
    case ConfigType::kNumber:
      return "a number";
    case ConfigType::kBool:
      return "a bool";
    case ConfigType::kObject:
      return "an object";
    case ConfigType::kArray:
      return "an array";
  }
  return "?";
}

struct ConfigKey {
  ConfigKey() = default;
  // {name, type, description, default, minimum, maximum, secret}: the trailing ones optional.
  ConfigKey(std::string name_, ConfigType type_, std::string description_,
            std::string default_text_ = {}, std::optional<double> minimum_ = {},
            std::optional<double> maximum_ = {}, bool secret_ = false)
      : name(std::move(name_)),
        type(type_),
        description(std::move(description_)),
        default_text(std::move(default_text_)),
        minimum(minimum_),
        maximum(maximum_),
        secret(secret_) {}

  std::string name;
  ConfigType type = ConfigType::kString;
  std::string description;
  std::string default_text;       // as shown in docs and `config show` ("" = none / computed)
  std::optional<double> minimum;  // integers and numbers: inclusive bounds
  std::optional<double> maximum;
  bool secret = false;  // never printed: `config show` shows "****"
};

struct ConfigSchema {
  std::string section;  // the config section it reads: the plugin's name
  std::string description;
  std::vector<ConfigKey> keys;
};

}  // namespace lithops::sdk
