#include "local_config.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "lithops/sdk/errors.hpp"

namespace lithops::localhost {

namespace {

[[noreturn]] void bad(const std::string& key, const std::string& expected,
                      const boost::json::value& got) {
  throw sdk::ConfigError("config key localhost." + key + " must be " + expected + ", got " +
                         boost::json::serialize(got));
}

// A whole number in [low, high]; JSON doubles are refused so that 2.5 workers is not silently 2.
long long read_integer(const boost::json::value& v, const std::string& key, long long low,
                       long long high) {
  const std::string expected =
      "an integer from " + std::to_string(low) + " to " + std::to_string(high);
  long long n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(high)) {
    n = static_cast<long long>(v.get_uint64());
  } else {
    bad(key, expected, v);
  }
  if (n < low || n > high) bad(key, expected, v);
  return n;
}

}  // namespace

LocalConfig LocalConfig::parse(const boost::json::object* section) {
  LocalConfig config;
  if (section == nullptr) return config;
  if (const auto* v = section->if_contains("max_workers")) {
    config.max_workers = static_cast<std::size_t>(read_integer(*v, "max_workers", 1, 1'000'000));
  }
  if (const auto* v = section->if_contains("prewarm")) {
    config.prewarm = static_cast<std::size_t>(read_integer(*v, "prewarm", 0, 1'000'000));
  }
  if (config.prewarm > config.max_workers) {
    throw sdk::ConfigError("config key localhost.prewarm (" + std::to_string(config.prewarm) +
                           ") must not exceed localhost.max_workers (" +
                           std::to_string(config.max_workers) + ")");
  }
  if (const auto* v = section->if_contains("idle_timeout")) {
    const char* expected = "a number of seconds >= 0";
    double seconds = 0;
    if (v->is_number()) {
      seconds = v->to_number<double>();
    } else {
      bad("idle_timeout", expected, *v);
    }
    // Capped at a year so the conversion to milliseconds cannot overflow.
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 365.0 * 24 * 3600) {
      bad("idle_timeout", expected, *v);
    }
    config.idle_timeout = std::chrono::milliseconds(std::llround(seconds * 1000.0));
  }
  if (const auto* v = section->if_contains("worker_env")) {
    if (!v->is_object()) bad("worker_env", "an object of string values", *v);
    for (const auto& [name, value] : v->get_object()) {
      const std::string key = "worker_env." + std::string(name);
      if (!value.is_string()) bad(key, "a string", value);
      if (name.empty() || name.find('=') != boost::json::string_view::npos) {
        throw sdk::ConfigError("config key localhost." + key +
                               ": an environment variable name must be non-empty and without '='");
      }
      config.worker_env.emplace_back(std::string(name), std::string(value.get_string()));
    }
  }
  return config;
}

}  // namespace lithops::localhost
