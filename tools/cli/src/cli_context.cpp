#include "cli_context.hpp"

#include "config_internal.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lithops::cli {

namespace fs = std::filesystem;

namespace {
// $LITHOPS_CONFIG_FILE, else ./.lithops_config.json, else ~/.lithops/config.json.
std::optional<fs::path> find_config(const std::string& given) {
  if (!given.empty()) return fs::path(given);
  if (const char* f = std::getenv("LITHOPS_CONFIG_FILE"); f && *f) return fs::path(f);
  if (fs::exists(".lithops_config.json")) return fs::path(".lithops_config.json");
  if (const char* home = std::getenv("HOME")) {
    fs::path p = fs::path(home) / ".lithops" / "config.json";
    if (fs::exists(p)) return p;
  }
  return std::nullopt;
}
}  // namespace

const boost::json::object& CliContext::config() {
  if (config_) return *config_;
  config_.emplace();
  const auto file = find_config(config_file);
  if (!file) return *config_;
  try {
    // The library's reader: comments and trailing commas as it accepts them, errors with a line,
    // every section validated from its plugin's declaration.
    config_ = lithops::multiprocessing::detail::load_config_file(*file);
  } catch (const std::exception& e) {
    throw CliError(e.what());
  }
  return *config_;
}

const boost::json::object* CliContext::section(const std::string& name) {
  const auto* s = config().if_contains(name);
  return s != nullptr && s->is_object() ? &s->as_object() : nullptr;
}

}  // namespace lithops::cli
