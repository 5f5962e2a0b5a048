// The Lambda Runtime API as a custom runtime sees it (the worker side).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace lithops::aws {

// The base URL for Runtime API calls from the value of AWS_LAMBDA_RUNTIME_API. Lambda gives
// "host:port"; emulators also give "http://host:port/prefix" (a scheme and a path prefix, as
// npm's @architect/sandbox does), which is kept. Throws std::invalid_argument for an empty value
// or one with whitespace or control characters.
std::string runtime_api_base_url(std::string_view value);

// One invocation as /runtime/invocation/next returns it.
struct NextInvocation {
  std::string request_id;
  std::string payload;
  std::optional<std::chrono::system_clock::time_point> deadline;  // Lambda-Runtime-Deadline-Ms
  std::string trace_id;
};

// A blocking Runtime API client for the worker's single thread (plain libcurl easy handles).
class RuntimeApiClient {
 public:
  explicit RuntimeApiClient(std::string base_url);
  ~RuntimeApiClient();
  RuntimeApiClient(const RuntimeApiClient&) = delete;
  RuntimeApiClient& operator=(const RuntimeApiClient&) = delete;

  // Long-polls for the next invocation. nullopt when the Runtime API is gone (connection refused
  // or reset: the instance is being shut down); throws std::runtime_error on an unexpected answer.
  std::optional<NextInvocation> next();
  // Each returns false if the Runtime API did not accept the call (the reason goes to stderr).
  bool respond(const std::string& request_id, const std::string& body);
  bool fail(const std::string& request_id, const std::string& error_type,
            const std::string& message);
  bool init_error(const std::string& error_type, const std::string& message);

  const std::string& base_url() const { return base_; }

 private:
  struct Result {
    long status = 0;
    std::string error;
  };
  Result post(const std::string& path, const std::string& body, const std::string& error_type);

  std::string base_;
  void* easy_ = nullptr;  // reused so the connection to the Runtime API stays open
};

}  // namespace lithops::aws
