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

namespace lithops::multiprocessing {
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

void check_section(const json::object& config, const std::string& origin, const char* section,
                   std::initializer_list<std::pair<const char*, json::kind>> keys) {
  auto it = config.find(section);
  if (it == config.end()) return;
  if (!it->value().is_object()) {
    throw ConfigError(origin + ": section '" + section + "' must be an object, got " +
                      kind_name(it->value().kind()));
  }
  for (const auto& [key, kind] : keys) {
    auto k = it->value().as_object().find(key);
    if (k == it->value().as_object().end() || k->value().is_null()) continue;
    bool ok = k->value().kind() == kind || (kind == json::kind::int64 && k->value().is_uint64()) ||
              (kind == json::kind::double_ && k->value().is_number());
    if (!ok) {
      throw ConfigError(origin + ": '" + std::string(section) + "." + key + "' must be " +
                        kind_name(kind) + ", got " + kind_name(k->value().kind()));
    }
  }
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

std::string nearest(std::string_view word, std::initializer_list<const char*> known) {
  std::string best;
  std::size_t best_d = static_cast<std::size_t>(-1);
  for (const char* k : known) {
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
                  std::initializer_list<const char*> known) {
  for (const auto& kv : o) {
    bool found = false;
    for (const char* k : known) found |= kv.key() == k;
    if (!found) {
      std::fprintf(stderr, "lithops: warning: %s: unknown %s '%s'; did you mean '%s'?\n",
                   origin.c_str(), where.c_str(), std::string(kv.key()).c_str(),
                   nearest(kv.key(), known).c_str());
    }
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
    if (!value.is_string()) reject(key, value, "a string: \"redislist\" or \"nanomsg\"");
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
  check_section(config, origin, "lithops",
                {{"backend", json::kind::string},
                 {"storage", json::kind::string},
                 {"log_level", json::kind::string},
                 {"workers", json::kind::int64},
                 {"lost_grace_period", json::kind::double_},
                 {"liveness_ttl", json::kind::int64},
                 {"progress", json::kind::bool_}});
  check_section(config, origin, "redis",
                {{"host", json::kind::string},
                 {"port", json::kind::int64},
                 {"password", json::kind::string},
                 {"username", json::kind::string},
                 {"db", json::kind::int64},
                 {"unix_socket", json::kind::string},
                 {"url", json::kind::string},
                 {"password_file", json::kind::string},
                 {"tls", json::kind::object}});
  check_section(config, origin, "localhost",
                {{"max_workers", json::kind::int64},
                 {"idle_timeout", json::kind::double_},
                 {"prewarm", json::kind::int64},
                 {"worker_env", json::kind::object}});
  for (const char* s : {"aws_lambda", "code_engine", "openwhisk", "nanomsg"}) {
    check_section(config, origin, s, {});
  }
  warn_unknown(
      config, origin, "section",
      {"lithops", "redis", "localhost", "aws_lambda", "code_engine", "openwhisk", "nanomsg"});
  if (auto* l = config.if_contains("lithops"); l && l->is_object()) {
    warn_unknown(
        l->as_object(), origin, "key in section 'lithops'",
        {"backend", "state_store", "workers", "log_level", "storage", "lost_grace_period",
         "liveness_ttl", "progress"});
  }
  if (auto* r = config.if_contains("redis"); r && r->is_object()) {
    warn_unknown(r->as_object(), origin, "key in section 'redis'",
                 {"host", "port", "password", "username", "db", "unix_socket", "connect_timeout",
                  "pool_size", "url", "password_file", "tls"});
  }
  if (auto* r = config.if_contains("localhost"); r && r->is_object()) {
    warn_unknown(r->as_object(), origin, "key in section 'localhost'",
                 {"max_workers", "idle_timeout", "prewarm", "worker_env"});
  }
  auto it = config.find("lithops");
  if (it != config.end()) {
    if (const auto* g = it->value().as_object().if_contains("lost_grace_period");
        g != nullptr && g->is_number() &&
        (g->to_number<double>() < 0 || g->to_number<double>() > 3600)) {
      throw ConfigError(origin +
                        ": 'lithops.lost_grace_period' must be from 0 to 3600 seconds, got " +
                        json::serialize(*g));
    }
    auto b = it->value().as_object().find("backend");
    if (b != it->value().as_object().end() && b->value().is_string() &&
        b->value().as_string().empty()) {
      throw ConfigError(origin + ": 'lithops.backend' is empty; use e.g. \"localhost\"");
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
