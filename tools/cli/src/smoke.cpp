#include "smoke.hpp"

#include <cstdlib>

#include "cli_context.hpp"
#include "config_internal.hpp"

namespace lithops::cli {

void apply_cli_config(CliContext& context) {
  if (!context.config_file.empty()) {
    ::setenv("LITHOPS_CONFIG_FILE", context.config_file.c_str(), 1);
  }
}

PluginsInUse plugins_in_use(const boost::json::object& config) {
  const auto pick = [&](const char* key, const char* fallback) -> std::string {
    const auto* l = config.if_contains("lithops");
    const auto* v = l && l->is_object() ? l->as_object().if_contains(key) : nullptr;
    return v && v->is_string() ? std::string(v->as_string()) : fallback;
  };
  return {pick("backend", "localhost"), pick("state_store", "redis"),
          lithops::multiprocessing::detail::parameters().pipe_connection_type};
}

}  // namespace lithops::cli
