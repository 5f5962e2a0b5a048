// The `aws_lambda` section of the Lithops configuration, shared by the executor plugin and the
// `lithops runtime` commands so both name the same function the same way.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <string>

#include "sigv4.hpp"

namespace lithops::aws {

enum class InvocationType { kRequestResponse, kEvent };

struct LambdaConfig {
  std::string region;  // key, else $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1
  sigv4::Credentials credentials;
  std::string credentials_source;  // where they came from, for messages ("environment", ...)
  std::string profile = "default";
  std::string execution_role;  // IAM role ARN; only deploy needs it
  int memory = 1024;           // MB, 128..10240
  int timeout = 900;           // seconds, 1..900
  std::string architecture = "x86_64";
  std::string function_name;  // empty: function_prefix + the program's name
  std::string function_prefix = "lithops-";
  std::string endpoint_url;  // no trailing slash; https://lambda.<region>.amazonaws.com by default
  InvocationType invocation_type = InvocationType::kRequestResponse;
  int max_retries = 10;
  std::chrono::milliseconds retry_base{100};  // first backoff step (key retry_base_ms)
  std::chrono::milliseconds retry_cap{20'000};

  // Reads the section. Unknown keys are ignored. Throws sdk::ConfigError naming the key for a value
  // of the wrong type or range, and (with `need_credentials`) when no credentials are found in the
  // section, the environment or ~/.aws/credentials.
  static LambdaConfig parse(const boost::json::object* section, bool need_credentials = true);

  // function_name if set, else function_prefix + `program` (a path; its file name is used) with
  // characters Lambda does not allow replaced by '-'.
  std::string resolve_function_name(const std::string& program) const;
};

// The largest request body Lambda accepts for an invocation of this type.
std::size_t max_payload_bytes(InvocationType type);

}  // namespace lithops::aws
