#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include <boost/json.hpp>

#include "config_internal.hpp"
#include "lithops/multiprocessing/config.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "lithops/sdk/config_schema.hpp"
#include "plugin_loader.hpp"

namespace lithops::multiprocessing {
using detail::plugin_names;
using detail::plugin_schema;
using detail::PluginSchema;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Leaked on purpose: the runtime reads the parameters from an atexit handler, which may run
// after function-local statics constructed later than its registration were destroyed.
std::mutex& params_mutex() {
  static auto* m = new std::mutex();
  return *m;
}
json::object& params() {
  static auto* p =
      new json::object{{"LITHOPS_CONFIG", json::object{}}, {"STREAM_STDOUT", false},
                       {"REDIS_EXPIRY_TIME", 3600},        {"PIPE_CONNECTION_TYPE", "redislist"},
                       {"ENV_VARS", json::object{}},       {"EXPORT_EXECUTION_DETAILS", nullptr}};
  return *p;
}

const char* kind_name(json::kind k) {
  switch (k) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "bool";
    case json::kind::int64:
    case json::kind::uint64:
      return "integer";
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "?";
}

[[noreturn]] void reject(std::string_view key, const json::value& v, const std::string& expected) {
  throw ValueError("mp::config::" + std::string(key) + " expects " + expected + ", got " +
                   kind_name(v.kind()) + " " + json::serialize(v));
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string nearest(std::string_view word, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_d = static_cast<std::size_t>(-1);
  for (const auto& k : known) {
    auto d = edit_distance(word, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best;
}

// Unknown names are warnings, not errors (a newer config on an older build still runs), but
// they name the nearest valid one: a typo should not silently fall back to a default.
void warn_unknown(const json::object& o, const std::string& origin, const std::string& where,
                  const std::vector<std::string>& known) {
  for (const auto& kv : o) {
    bool found = false;
    for (const auto& k : known) found |= kv.key() == k;
    if (!found && !known.empty()) {
      std::fprintf(stderr, "lithops: warning: %s: unknown %s '%s'; did you mean '%s'?\n",
                   origin.c_str(), where.c_str(), std::string(kv.key()).c_str(),
                   nearest(kv.key(), known).c_str());
    }
  }
}

bool kind_matches(sdk::ConfigType type, const json::value& v) {
  switch (type) {
    case sdk::ConfigType::kString:
      return v.is_string();
    case sdk::ConfigType::kInteger:
      return v.is_int64() || v.is_uint64();
    case sdk::ConfigType::kNumber:
      return v.is_number();
    case sdk::ConfigType::kBool:
      return v.is_bool();
    case sdk::ConfigType::kObject:
      return v.is_object();
    case sdk::ConfigType::kArray:
      return v.is_array();
  }
  return false;
}

std::string number_text(double d) {
  json::value v = d;
  if (d == static_cast<double>(static_cast<long long>(d))) v = static_cast<long long>(d);
  return json::serialize(v);
}

// What a key expects, for errors: "an integer from 1 to 4096".
std::string expectation(const sdk::ConfigKey& key) {
  std::string out = sdk::config_type_name(key.type);
  if (key.minimum && key.maximum) {
    out += " from " + number_text(*key.minimum) + " to " + number_text(*key.maximum);
  } else if (key.minimum) {
    out += " >= " + number_text(*key.minimum);
  } else if (key.maximum) {
    out += " <= " + number_text(*key.maximum);
  }
  return out;
}

// Checks config[section] against a declaration: types and ranges are errors, unknown keys
// warnings naming the nearest declared key.
void check_declared(const json::object& section_value, const std::string& origin,
                    const sdk::ConfigSchema& schema, const std::string& section) {
  std::vector<std::string> names;
  for (const auto& key : schema.keys) {
    names.push_back(key.name);
    const auto* v = section_value.if_contains(key.name);
    if (v == nullptr || v->is_null()) continue;
    bool ok = kind_matches(key.type, *v);
    if (ok && v->is_number() && (key.minimum || key.maximum)) {
      const double d = v->to_number<double>();
      ok = (!key.minimum || d >= *key.minimum) && (!key.maximum || d <= *key.maximum);
    }
    if (!ok) {
      throw ConfigError(origin + ": '" + section + "." + key.name + "' must be " +
                        expectation(key) + ", got " + kind_name(v->kind()) +
                        (key.secret ? std::string() : " " + json::serialize(*v)));
    }
  }
  warn_unknown(section_value, origin, "key in section '" + section + "'", names);
}

// The core's own section.
const sdk::ConfigSchema& lithops_schema() {
  static const auto* schema = new sdk::ConfigSchema{
      "lithops",
      "the session: which plugins it uses",
      {{"backend", sdk::ConfigType::kString, "executor plugin (start method)", "localhost"},
       {"state_store", sdk::ConfigType::kString, "state store plugin", "redis"},
       {"workers", sdk::ConfigType::kInteger, "default Pool size", "cpu count", 1, 1e6},
       {"log_level", sdk::ConfigType::kString, "log level", "WARNING"},
       {"storage", sdk::ConfigType::kString, "(unused)", ""},
       {"lost_grace_period", sdk::ConfigType::kNumber,
        "seconds an ended invocation may still report its exit before it is lost", "5", 0, 3600},
       {"liveness_ttl", sdk::ConfigType::kInteger, "seconds; TTL of the session's liveness key",
        "30", 3, 86400},
       {"progress", sdk::ConfigType::kBool, "progress bar for Pool maps on a terminal", "false"}}};
  return *schema;
}

// A plugin named in the config must be on the plugin path: the error lists those that are.
void check_plugin_name(const json::object& lithops, const std::string& origin, const char* key,
                       const char* kind) {
  const auto* v = lithops.if_contains(key);
  if (v == nullptr || !v->is_string()) return;
  const std::string name(v->as_string());
  if (name.empty()) {
    std::string example;
    for (const auto& k : lithops_schema().keys) {
      if (k.name == key) example = k.default_text;  // "localhost" / "redis"
    }
    throw ConfigError(origin + ": 'lithops." + key + "' is empty; use e.g. \"" + example + "\"");
  }
  if (!detail::plugin_exists(kind, name)) {
    throw ValueError(
        origin + ": " +
        detail::unknown_plugin_message(
            kind, name, "'lithops." + std::string(key) + "' names no " + kind + " plugin"));
  }
}

}  // namespace

namespace config {

void set_parameter(std::string_view key, const json::value& value) {
  if (key == LITHOPS_CONFIG) {
    if (!value.is_object()) reject(key, value, "an object (a Lithops config)");
    detail::validate_config(value.as_object(), "mp::config::LITHOPS_CONFIG");
  } else if (key == STREAM_STDOUT) {
    if (!value.is_bool()) reject(key, value, "a bool");
  } else if (key == REDIS_EXPIRY_TIME) {
    if (!value.is_int64() && !value.is_uint64()) reject(key, value, "an integer number of seconds");
    if (value.to_number<long long>() <= 0) reject(key, value, "a positive number of seconds");
  } else if (key == PIPE_CONNECTION_TYPE) {
    if (!value.is_string()) reject(key, value, "a string naming a pipe transport plugin");
    if (!detail::plugin_exists("pipe", std::string(value.as_string()))) {
      throw ValueError(detail::unknown_plugin_message(
          "pipe", std::string(value.as_string()),
          "mp::config::PIPE_CONNECTION_TYPE names no pipe transport plugin"));
    }
  } else if (key == ENV_VARS) {
    if (!value.is_object()) reject(key, value, "an object of string values");
    for (const auto& kv : value.as_object()) {
      if (!kv.value().is_string())
        reject(key, kv.value(), "string values (variable '" + std::string(kv.key()) + "')");
    }
  } else if (key == EXPORT_EXECUTION_DETAILS) {
    if (!value.is_null() && !value.is_string()) reject(key, value, "a directory path or null");
  } else {
    throw ValueError("mp::config: unknown parameter '" + std::string(key) +
                     "'; known: LITHOPS_CONFIG, STREAM_STDOUT, REDIS_EXPIRY_TIME, "
                     "PIPE_CONNECTION_TYPE, ENV_VARS, EXPORT_EXECUTION_DETAILS");
  }
  std::lock_guard lock(params_mutex());
  params()[key] = value;
}

json::value get_parameter(std::string_view key) {
  std::lock_guard lock(params_mutex());
  auto it = params().find(key);
  if (it == params().end()) {
    throw ValueError("mp::config: unknown parameter '" + std::string(key) + "'");
  }
  return it->value();
}

}  // namespace config

namespace detail {

std::optional<fs::path> find_config_file() {
  if (const char* env = std::getenv("LITHOPS_CONFIG_FILE"); env && *env) {
    if (!fs::exists(env)) {
      throw ConfigError(std::string("LITHOPS_CONFIG_FILE names ") + env +
                        ", which does not exist; fix the path or unset the variable");
    }
    return fs::path(env);
  }
  if (fs::exists(".lithops_config.json")) return fs::path(".lithops_config.json");
  if (const char* home = std::getenv("HOME")) {
    fs::path p = fs::path(home) / ".lithops" / "config.json";
    if (fs::exists(p)) return p;
  }
  return std::nullopt;
}

json::object load_config_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw ConfigError("cannot read config file " + file.string());
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  json::parse_options opts;
  opts.allow_comments = true;
  opts.allow_trailing_commas = true;
  boost::system::error_code ec;
  json::stream_parser parser({}, opts);
  std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    std::size_t line =
        1 + static_cast<std::size_t>(std::count(
                text.begin(), text.begin() + static_cast<std::ptrdiff_t>(consumed), '\n'));
    throw ConfigError("config file " + file.string() + " is not valid JSON (line " +
                      std::to_string(line) + "): " + ec.message());
  }
  json::value v = parser.release();
  if (!v.is_object())
    throw ConfigError("config file " + file.string() + " must hold a JSON object");
  validate_config(v.as_object(), "config file " + file.string());
  return std::move(v.as_object());
}

void validate_config(const json::object& config, const std::string& origin) {
  std::vector<std::string> sections{"lithops"};
  for (const char* kind : {"executor", "state", "pipe"}) {
    for (auto& n : plugin_names(kind)) sections.push_back(std::move(n));
  }
  for (const auto& kv : config) {
    const std::string section(kv.key());
    if (section == "lithops") {
      if (!kv.value().is_object()) {
        throw ConfigError(origin + ": section 'lithops' must be an object, got " +
                          kind_name(kv.value().kind()));
      }
      const auto& l = kv.value().as_object();
      check_declared(l, origin, lithops_schema(), section);
      check_plugin_name(l, origin, "backend", "executor");
      check_plugin_name(l, origin, "state_store", "state");
      continue;
    }
    const auto found = plugin_schema(section);
    if (found.kind.empty()) {
      std::fprintf(stderr,
                   "lithops: warning: %s: unknown section '%s'; did you mean '%s'? (no plugin of "
                   "that name is on the plugin path)\n",
                   origin.c_str(), section.c_str(), nearest(section, sections).c_str());
      continue;
    }
    if (!kv.value().is_object()) {
      throw ConfigError(origin + ": section '" + section + "' must be an object, got " +
                        kind_name(kv.value().kind()));
    }
    if (found.schema != nullptr)
      check_declared(kv.value().as_object(), origin, *found.schema, section);
  }
}

void mask_declared_secrets(json::object& config) {
  for (auto& kv : config) {
    if (kv.key() == "lithops" || !kv.value().is_object()) continue;
    PluginSchema found;
    try {
      found = plugin_schema(std::string(kv.key()));
    } catch (const std::exception&) {
      continue;  // a plugin that does not load declares nothing; the heuristic masking still runs
    }
    if (found.schema == nullptr) continue;
    for (const auto& key : found.schema->keys) {
      auto* v = kv.value().as_object().if_contains(key.name);
      if (key.secret && v != nullptr && !v->is_null()) *v = "****";
    }
  }
}

void merge_into(json::object& base, const json::object& over) {
  for (const auto& kv : over) {
    auto it = base.find(kv.key());
    if (it != base.end() && it->value().is_object() && kv.value().is_object()) {
      merge_into(it->value().as_object(), kv.value().as_object());
    } else {
      base[kv.key()] = kv.value();
    }
  }
}

json::object effective_config() {
  json::object config{{"lithops", json::object{{"backend", "localhost"}}}};
  if (auto file = find_config_file()) merge_into(config, load_config_file(*file));
  auto lc = config::get_parameter(config::LITHOPS_CONFIG);
  merge_into(config, lc.as_object());
  return config;
}

Parameters parameters() {
  std::lock_guard lock(params_mutex());
  Parameters p;
  p.stream_stdout = params().at("STREAM_STDOUT").as_bool();
  p.redis_expiry_time = params().at("REDIS_EXPIRY_TIME").to_number<long long>();
  p.pipe_connection_type = std::string(params().at("PIPE_CONNECTION_TYPE").as_string());
  p.env_vars = params().at("ENV_VARS").as_object();
  const auto& e = params().at("EXPORT_EXECUTION_DETAILS");
  if (e.is_string()) p.export_execution_details = std::string(e.as_string());
  return p;
}

}  // namespace detail
}  // namespace lithops::multiprocessing
