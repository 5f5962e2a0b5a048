#include "lambda_config.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "lithops/sdk/errors.hpp"

namespace lithops::aws {

namespace {

[[noreturn]] void bad(const std::string& key, const std::string& expected,
                      const boost::json::value& got) {
  throw sdk::ConfigError("config key aws_lambda." + key + " must be " + expected + ", got " +
                         boost::json::serialize(got));
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

bool read_string(const boost::json::object& s, const char* key, std::string& out,
                 bool allow_empty = false) {
  const auto* v = s.if_contains(key);
  if (v == nullptr) return false;
  if (!v->is_string() || (!allow_empty && v->get_string().empty())) {
    bad(key, "a non-empty string", *v);
  }
  out = v->get_string();
  return true;
}

void read_int(const boost::json::object& s, const char* key, int low, int high, int& out) {
  const auto* v = s.if_contains(key);
  if (v == nullptr) return;
  const std::string expected =
      "an integer from " + std::to_string(low) + " to " + std::to_string(high);
  if (!v->is_int64() && !v->is_uint64()) bad(key, expected, *v);
  const auto n = v->is_int64() ? v->get_int64() : static_cast<std::int64_t>(v->get_uint64());
  if (v->is_uint64() && v->get_uint64() > static_cast<std::uint64_t>(high)) bad(key, expected, *v);
  if (n < low || n > high) bad(key, expected, *v);
  out = static_cast<int>(n);
}

bool valid_function_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// The `[profile]` section of an AWS shared credentials file (INI).
bool read_credentials_file(const std::filesystem::path& file, const std::string& profile,
                           sigv4::Credentials& out) {
  std::ifstream in(file);
  if (!in) return false;
  std::string line;
  bool in_profile = false;
  sigv4::Credentials found;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      in_profile = trim(line.substr(1, line.size() - 2)) == profile;
      continue;
    }
    if (!in_profile) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const auto key = trim(line.substr(0, eq));
    const auto value = trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") found.access_key_id = value;
    if (key == "aws_secret_access_key") found.secret_access_key = value;
    if (key == "aws_session_token") found.session_token = value;
  }
  if (found.access_key_id.empty() || found.secret_access_key.empty()) return false;
  out = found;
  return true;
}

}  // namespace

std::size_t max_payload_bytes(InvocationType type) {
  // Lambda's documented request payload quotas: 6 MB synchronous, 1 MB asynchronous (Event).
  return type == InvocationType::kRequestResponse ? 6u * 1024 * 1024 : 1024u * 1024;
}

LambdaConfig LambdaConfig::parse(const boost::json::object* section, bool need_credentials) {
  static const boost::json::object empty;
  const auto& s = section == nullptr ? empty : *section;
  LambdaConfig c;

  if (!read_string(s, "region", c.region)) {
    c.region = env("AWS_REGION");
    if (c.region.empty()) c.region = env("AWS_DEFAULT_REGION");
    if (c.region.empty()) c.region = "us-east-1";
  }
  read_string(s, "execution_role", c.execution_role);
  read_int(s, "memory", 128, 10240, c.memory);
  read_int(s, "timeout", 1, 900, c.timeout);
  read_int(s, "max_retries", 0, 100, c.max_retries);
  int base_ms = static_cast<int>(c.retry_base.count());
  read_int(s, "retry_base_ms", 1, 60'000, base_ms);
  c.retry_base = std::chrono::milliseconds(base_ms);
  if (read_string(s, "architecture", c.architecture) && c.architecture != "x86_64" &&
      c.architecture != "arm64") {
    bad("architecture", "\"x86_64\" or \"arm64\"", s.at("architecture"));
  }
  if (read_string(s, "function_name", c.function_name) && !valid_function_name(c.function_name)) {
    bad("function_name", "1 to 64 letters, digits, '-' or '_'", s.at("function_name"));
  }
  if (read_string(s, "function_prefix", c.function_prefix, true) && !c.function_prefix.empty() &&
      !valid_function_name(c.function_prefix)) {
    bad("function_prefix", "letters, digits, '-' or '_'", s.at("function_prefix"));
  }
  if (read_string(s, "endpoint_url", c.endpoint_url)) {
    if (!c.endpoint_url.starts_with("http://") && !c.endpoint_url.starts_with("https://")) {
      bad("endpoint_url", "an http:// or https:// URL", s.at("endpoint_url"));
    }
    while (c.endpoint_url.back() == '/') c.endpoint_url.pop_back();
  } else {
    c.endpoint_url = "https://lambda." + c.region + ".amazonaws.com";
  }
  std::string type;
  if (read_string(s, "invocation_type", type)) {
    if (type == "RequestResponse") {
      c.invocation_type = InvocationType::kRequestResponse;
    } else if (type == "Event") {
      c.invocation_type = InvocationType::kEvent;
    } else {
      bad("invocation_type", "\"RequestResponse\" or \"Event\"", s.at("invocation_type"));
    }
  }

  // Credentials: the section, then the environment, then the shared credentials file.
  std::string id;
  std::string secret;
  const bool has_id = read_string(s, "access_key_id", id);
  const bool has_secret = read_string(s, "secret_access_key", secret);
  std::string token;
  read_string(s, "session_token", token, true);
  if (!read_string(s, "profile", c.profile)) {
    if (auto p = env("AWS_PROFILE"); !p.empty()) c.profile = p;
  }
  if (has_id != has_secret) {
    throw sdk::ConfigError(
        "config keys aws_lambda.access_key_id and aws_lambda.secret_access_key go together: "
        "set both, or neither to use the environment or ~/.aws/credentials");
  }
  if (has_id) {
    c.credentials = {id, secret, token};
    c.credentials_source = "the aws_lambda config section";
  } else if (!env("AWS_ACCESS_KEY_ID").empty() && !env("AWS_SECRET_ACCESS_KEY").empty()) {
    c.credentials = {env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"),
                     env("AWS_SESSION_TOKEN")};
    c.credentials_source = "the environment (AWS_ACCESS_KEY_ID)";
  } else {
    std::filesystem::path file = env("AWS_SHARED_CREDENTIALS_FILE");
    if (file.empty() && !env("HOME").empty()) file = env("HOME") + "/.aws/credentials";
    if (!file.empty() && read_credentials_file(file, c.profile, c.credentials)) {
      c.credentials_source = file.string() + " [" + c.profile + "]";
    } else if (need_credentials) {
      throw sdk::ConfigError(
          "no AWS credentials found for the aws_lambda backend: set aws_lambda.access_key_id "
          "and aws_lambda.secret_access_key in the config, or AWS_ACCESS_KEY_ID and "
          "AWS_SECRET_ACCESS_KEY in the environment, or a [" +
          c.profile + "] profile in " + (file.empty() ? "~/.aws/credentials" : file.string()));
    }
  }
  return c;
}

std::string LambdaConfig::resolve_function_name(const std::string& program) const {
  if (!function_name.empty()) return function_name;
  std::string name = function_prefix + std::filesystem::path(program).filename().string();
  for (auto& ch : name) {
    const auto u = static_cast<unsigned char>(ch);
    if (!std::isalnum(u) && ch != '-' && ch != '_') ch = '-';
  }
  if (name.size() > 64) name.resize(64);
  return name;
}

}  // namespace lithops::aws
