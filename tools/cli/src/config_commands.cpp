// `lithops config show`: the effective configuration (embedded defaults merged with the config
// file), secrets masked, pretty-printed.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>
#include <string>

#include "cli_context.hpp"
#include "config_internal.hpp"

namespace lithops::cli {
namespace json = boost::json;

namespace {

bool is_secret(std::string_view key) {
  for (std::string_view s : {"password", "secret", "token", "api_key", "apikey", "iam_api_key"}) {
    if (key.find(s) != std::string_view::npos) return true;
  }
  return false;
}

// Secrets become "****"; an access key id keeps 4 characters so a person can tell which it is.
void mask(json::value& v, std::string_view key = {}) {
  if (auto* o = v.if_object()) {
    for (auto& kv : *o) mask(kv.value(), kv.key());
  } else if (auto* a = v.if_array()) {
    for (auto& e : *a) mask(e);
  } else if (v.is_string() && !v.as_string().empty()) {
    if (is_secret(key)) {
      v = "****";
    } else if (key == "access_key_id" || key == "access_key") {
      std::string s(v.as_string());
      v = s.substr(0, 4) + "****";
    }
  }
}

void merge(json::object& base, const json::object& over) {
  for (const auto& kv : over) {
    auto* b = base.if_contains(kv.key());
    if (b && b->is_object() && kv.value().is_object()) {
      merge(b->as_object(), kv.value().as_object());
    } else {
      base[kv.key()] = kv.value();
    }
  }
}

void pretty(std::ostream& out, const json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  if (const auto* o = v.if_object()) {
    if (o->empty()) {
      out << "{}";
      return;
    }
    out << "{\n";
    std::size_t i = 0;
    for (const auto& kv : *o) {
      out << pad << "  " << json::serialize(json::value(kv.key())) << ": ";
      pretty(out, kv.value(), indent + 1);
      out << (++i < o->size() ? ",\n" : "\n");
    }
    out << pad << "}";
  } else if (const auto* a = v.if_array()) {
    out << json::serialize(*a);
  } else {
    out << json::serialize(v);
  }
}

}  // namespace

void add_config_commands(CLI::App& app, CliContext& context) {
  auto* config = app.add_subcommand("config", "inspect the Lithops configuration");
  config->require_subcommand(1);
  auto* show = config->add_subcommand(
      "show",
      "print the effective configuration (defaults merged with the config file), "
      "secrets masked");
  show->footer("Example:\n  lithops --config lambda.json config show");
  show->callback([&context] {
    json::object effective{{"lithops", json::object{{"backend", "localhost"}}}};
    merge(effective, context.config());
    if (!effective.contains("redis")) {
      effective["redis"] = "(none: a private redis-server is started on a Unix socket)";
    }
    lithops::multiprocessing::detail::mask_declared_secrets(effective);  // plugins' declarations
    json::value v = std::move(effective);
    mask(v);
    pretty(std::cout, v, 0);
    std::cout << "\n";
  });
}

}  // namespace lithops::cli
