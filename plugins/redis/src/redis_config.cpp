#include "redis_config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
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

// The URL with its password replaced by "***", for error messages.
std::string redacted(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const auto auth_start = scheme_end + 3;
  const auto at = url.find('@', auth_start);
  const auto slash = url.find('/', auth_start);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  const auto colon = url.find(':', auth_start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

[[noreturn]] void bad_url(std::string_view url, const std::string& why) {
  throw sdk::ConfigError("invalid `redis.url` \"" + redacted(url) +
                         "\" in the Lithops config: " + why +
                         "; expected redis://[user[:password]@]host[:port][/db], "
                         "rediss://... (TLS) or unix:///path/to/redis.sock");
}

// %XX escapes in the user and password parts.
std::string percent_decode(std::string_view url, std::string_view part) {
  std::string out;
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] != '%') {
      out.push_back(part[i]);
      continue;
    }
    unsigned value = 0;
    const char* first = part.data() + i + 1;
    if (i + 2 >= part.size() || std::from_chars(first, first + 2, value, 16).ptr != first + 2) {
      bad_url(url, "a '%' must be followed by two hex digits");
    }
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

struct ParsedUrl {
  bool tls = false;
  std::string host, unix_socket, username, password;
  int port = 6379;
  long long db = -1;  // -1: not in the URL
};

ParsedUrl parse_url(std::string_view url) {
  ParsedUrl p;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) bad_url(url, "no scheme");
  const std::string_view scheme = url.substr(0, scheme_end);
  std::string_view rest = url.substr(scheme_end + 3);
  if (scheme == "unix") {
    if (rest.empty() || rest[0] != '/') bad_url(url, "unix:// needs an absolute socket path");
    p.unix_socket = std::string(rest);
    return p;
  }
  if (scheme == "rediss") {
    p.tls = true;
  } else if (scheme != "redis") {
    bad_url(url, "unknown scheme \"" + std::string(scheme) + "\"");
  }
  // [user[:password]@]host[:port][/db]
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    p.username = percent_decode(url, userinfo.substr(0, colon));
    if (colon != std::string_view::npos) {
      p.password = percent_decode(url, userinfo.substr(colon + 1));
    }
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad_url(url, "an IPv6 address needs a closing ']'");
    p.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') bad_url(url, "unexpected text after ']'");
    if (!after.empty()) port_text = after.substr(1);
  } else {
    const auto colon = authority.find(':');
    p.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (p.host.empty()) bad_url(url, "no host");
  if (!port_text.empty() || authority.ends_with(':')) {
    int port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
      bad_url(url, "the port must be a number between 1 and 65535");
    }
    p.port = port;
  }
  if (!path.empty()) {
    long long db = 0;
    const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
    if (ec != std::errc() || end != path.data() + path.size() || db < 0 || db > (1 << 20)) {
      bad_url(url, "the path must be a database number (/0, /1, ...)");
    }
    p.db = db;
  }
  return p;
}

std::string read_password_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw sdk::ConfigError("cannot read `redis.password_file` " + path + ": " +
                           std::strerror(errno) + "; fix the path in the Lithops config");
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw sdk::ConfigError("cannot read `redis.password_file` " + path + ": " +
                             std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > (1 << 16)) {
      ::close(fd);
      throw sdk::ConfigError("`redis.password_file` " + path +
                             " is over 64 KiB: it must hold only the password");
    }
  }
  ::close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) {
    throw sdk::ConfigError("`redis.password_file` " + path +
                           " is empty; write the password into it (one line)");
  }
  return text;
}

void parse_tls(const boost::json::value& v, TlsConfig& t) {
  if (!v.is_object())
    bad("tls", "an object {ca_file, cert_file, key_file, server_name, verify}", v);
  const auto& o = v.as_object();
  static constexpr std::string_view kKnown[] = {"ca_file", "cert_file", "key_file", "server_name",
                                                "verify"};
  for (const auto& kv : o) {
    if (std::find(std::begin(kKnown), std::end(kKnown), kv.key()) == std::end(kKnown)) {
      throw sdk::ConfigError("unknown key `redis.tls." + std::string(kv.key()) +
                             "` in the Lithops config; known: ca_file, cert_file, key_file, "
                             "server_name, verify");
    }
  }
  auto str = [&](std::string_view key, std::string& out) {
    if (const auto* s = find(o, key)) {
      if (!s->is_string()) bad("tls." + std::string(key), "a string", *s);
      out = s->as_string();
    }
  };
  str("ca_file", t.ca_file);
  str("cert_file", t.cert_file);
  str("key_file", t.key_file);
  str("server_name", t.server_name);
  if (const auto* b = find(o, "verify")) {
    if (!b->is_bool()) bad("tls.verify", "true or false", *b);
    t.verify = b->as_bool();
  }
  if (t.cert_file.empty() != t.key_file.empty()) {
    throw sdk::ConfigError(
        "`redis.tls` in the Lithops config: `cert_file` and `key_file` go together (a client "
        "certificate and its private key, for servers that require client certificates); give "
        "both or neither");
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

  if (const auto* v = find(section, "url")) {
    if (!v->is_string()) bad("url", "a string such as \"rediss://host:6380/0\"", *v);
    const std::string_view url = v->as_string();
    for (const char* key : {"host", "port", "unix_socket"}) {
      if (find(section, key) != nullptr) {
        throw sdk::ConfigError("`redis.url` and `redis." + std::string(key) +
                               "` are both set in the Lithops config; give the server once: "
                               "either the URL or host/port/unix_socket");
      }
    }
    ParsedUrl u = parse_url(url);
    auto take = [&](const char* key, std::string& field, std::string& from_url) {
      if (from_url.empty()) return;
      if (!field.empty()) {
        throw sdk::ConfigError("`redis.url` carries a " + std::string(key) + " and `redis." + key +
                               "` is set too; give it once");
      }
      field = std::move(from_url);
    };
    take("username", c.username, u.username);
    take("password", c.password, u.password);
    if (u.db >= 0) {
      if (find(section, "db") != nullptr) {
        throw sdk::ConfigError(
            "`redis.url` carries a database (/N) and `redis.db` is set too; "
            "give it once");
      }
      c.db = u.db;
    }
    c.unix_socket = u.unix_socket;
    c.host = u.unix_socket.empty() ? u.host : std::string();
    c.port = u.port;
    c.tls = u.tls;
  }

  if (const auto* v = find(section, "password_file")) {
    if (!v->is_string()) bad("password_file", "a string (a file path)", *v);
    if (!c.password.empty()) {
      throw sdk::ConfigError(
          "`redis.password_file` and a password (`redis.password` or in "
          "`redis.url`) are both set in the Lithops config; give one");
    }
    c.password = read_password_file(std::string(v->as_string()));
    c.password_resolved = true;
  } else if (c.password.empty()) {
    if (const char* env = std::getenv(kPasswordEnv); env != nullptr && *env != '\0') {
      c.password = env;
      c.password_resolved = true;
    }
  }

  if (const auto* v = find(section, "tls")) {
    parse_tls(*v, c.tls_options);
    c.tls = true;
  }
  if (c.host.empty() && c.unix_socket.empty()) {
    throw sdk::ConfigError(
        "invalid `redis` section in the Lithops config: `host` is empty and `unix_socket` is not "
        "set; give one of them");
  }
  if (c.tls && !c.unix_socket.empty()) {
    throw sdk::ConfigError(
        "`redis.tls` (or a rediss:// URL) is set with a Unix socket: Redis speaks TLS only on "
        "its TCP tls-port; give `host`/`port` (or a rediss://host:port URL), or drop `tls`");
  }
  return c;
}

std::string RedisConfig::address() const {
  if (!unix_socket.empty()) return "unix:" + unix_socket;
  const std::string suffix = tls ? " (TLS)" : "";
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]:" + std::to_string(port) + suffix;
  }
  return host + ":" + std::to_string(port) + suffix;
}

boost::json::object RedisConfig::worker_section(const boost::json::object& given) const {
  boost::json::object out = given;
  if (out.contains("url")) {
    out.erase("url");
    if (unix_socket.empty()) {
      out["host"] = host;
      out["port"] = port;
    } else {
      out["unix_socket"] = unix_socket;
    }
    if (!username.empty()) out["username"] = username;
    if (db != 0) out["db"] = db;
    if (tls && !out.contains("tls")) out["tls"] = boost::json::object{};
    if (!password.empty()) out["password"] = password;
  }
  if (password_resolved) {
    out.erase("password_file");
    out["password"] = password;
  }
  return out;
}

}  // namespace lithops::plugins::redis
