#include "redis_config.hpp"

#include <cmath>
#include <string_view>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "lithops/sdk/errors.hpp"

namespace lithops::plugins::redis {
namespace {

const char* kind_name(boost::json::kind k) {
  switch (k) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "an integer";
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "?";
}

[[noreturn]] void bad(std::string_view key, std::string_view expected,
                      const boost::json::value& v) {
  throw sdk::ConfigError("invalid `redis." + std::string(key) +
                         "` in the Lithops config: expected " + std::string(expected) + ", got " +
                         kind_name(v.kind()) + " (" + boost::json::serialize(v) + ")");
}

// A missing key or an explicit null keeps the default.
const boost::json::value* find(const boost::json::object& o, std::string_view key) {
  const auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

void read_string(const boost::json::object& o, std::string_view key, std::string& out) {
  if (const auto* v = find(o, key)) {
    if (!v->is_string()) bad(key, "a string", *v);
    out = v->as_string();
  }
}

void read_integer(const boost::json::object& o, std::string_view key, long long min, long long max,
                  long long& out) {
  if (const auto* v = find(o, key)) {
    const auto expected =
        "an integer between " + std::to_string(min) + " and " + std::to_string(max);
    long long n = 0;
    if (v->is_int64()) {
      n = v->as_int64();
    } else if (v->is_uint64() && v->as_uint64() <= static_cast<unsigned long long>(max)) {
      n = static_cast<long long>(v->as_uint64());
    } else {
      bad(key, expected, *v);
    }
    if (n < min || n > max) bad(key, expected, *v);
    out = n;
  }
}

}  // namespace

RedisConfig RedisConfig::parse(const boost::json::object& section) {
  RedisConfig c;
  read_string(section, "host", c.host);
  read_string(section, "unix_socket", c.unix_socket);
  read_string(section, "password", c.password);
  read_string(section, "username", c.username);
  long long port = c.port;
  read_integer(section, "port", 1, 65535, port);
  c.port = static_cast<int>(port);
  read_integer(section, "db", 0, 1 << 20, c.db);
  long long pool = static_cast<long long>(c.pool_size);
  read_integer(section, "pool_size", 0, 1 << 20, pool);
  c.pool_size = static_cast<std::size_t>(pool);
  if (const auto* v = find(section, "connect_timeout")) {
    // Seconds, fractions allowed (Lithops writes timeouts as float seconds).
    const char* expected = "a positive number of seconds";
    double seconds = 0;
    if (v->is_number()) {
      seconds = v->to_number<double>();
    } else {
      bad("connect_timeout", expected, *v);
    }
    if (!std::isfinite(seconds) || seconds <= 0 || seconds > 86400) {
      bad("connect_timeout", expected, *v);
    }
    c.connect_timeout =
        std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
  }
  if (c.host.empty() && c.unix_socket.empty()) {
    throw sdk::ConfigError(
        "invalid `redis` section in the Lithops config: `host` is empty and `unix_socket` is not "
        "set; give one of them");
  }
  return c;
}

std::string RedisConfig::address() const {
  if (!unix_socket.empty()) return "unix:" + unix_socket;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace lithops::plugins::redis
