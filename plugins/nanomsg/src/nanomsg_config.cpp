#include "nanomsg_config.hpp"

#include "lithops/sdk/errors.hpp"

namespace lithops::plugins::nanomsg {
namespace {
[[noreturn]] void bad(const char* key, const char* expected) {
  throw sdk::ConfigError(std::string("config section 'nanomsg': '") + key + "' must be " +
                         expected);
}

const boost::json::value* find(const boost::json::object* s, const char* key) {
  if (!s) return nullptr;
  auto* v = s->if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

void read_string(const boost::json::object* s, const char* key, std::string& out) {
  if (auto* v = find(s, key)) {
    if (!v->is_string() || v->as_string().empty()) bad(key, "a non-empty string");
    out = v->as_string();
  }
}

void read_port(const boost::json::object* s, const char* key, int& out) {
  if (auto* v = find(s, key)) {
    if (!v->is_int64() || v->as_int64() < 0 || v->as_int64() > 65535) {
      bad(key, "an integer port 0-65535");
    }
    out = static_cast<int>(v->as_int64());
  }
}

void read_seconds(const boost::json::object* s, const char* key, std::chrono::milliseconds& out) {
  if (auto* v = find(s, key)) {
    if (!v->is_number() || v->to_number<double>() < 0) bad(key, "a number of seconds >= 0");
    out = std::chrono::milliseconds(static_cast<long long>(v->to_number<double>() * 1000));
  }
}
}  // namespace

Options parse_options(const boost::json::object* section) {
  Options o;
  std::string engine = "direct";
  read_string(section, "engine", engine);
  if (engine == "direct") {
    o.engine = Engine::kDirect;
  } else if (engine == "nng") {
    o.engine = Engine::kNng;
  } else {
    bad("engine", "\"direct\" (the default) or \"nng\"");
  }
  if (auto* v = find(section, "ipc")) {
    if (!v->is_bool()) bad("ipc", "true or false");
    o.ipc = v->as_bool();
  }
  read_string(section, "host", o.host);
  read_string(section, "bind", o.bind);
  read_port(section, "port_min", o.port_min);
  read_port(section, "port_max", o.port_max);
  read_seconds(section, "connect_timeout", o.connect_timeout);
  read_seconds(section, "send_timeout", o.send_timeout);
  read_seconds(section, "linger", o.linger);
  if (o.bind.empty()) o.bind = o.host;
  if (o.port_max == 0) o.port_max = o.port_min;
  if (o.port_max < o.port_min) bad("port_max", "at least port_min");
  return o;
}

}  // namespace lithops::plugins::nanomsg
