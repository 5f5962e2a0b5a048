// The driver half of the aws_lambda executor: every invocation is one Lambda Invoke request,
// sent by HttpClient's single background thread, so a Pool.map fans out concurrently over
// kept-alive (HTTP/2 where offered) connections.
//
// invoke() queues the request and returns at once; a request the service refuses, even after
// retrying throttles (429) and server errors with backoff, is reported through
// ExecutorListener::on_invocation_lost. With the default RequestResponse invocation type the
// answer arrives when the function has finished, so a function error (X-Amz-Function-Error: a
// crash, a timeout, a runtime that exited) is reported lost too, with the status the process
// would have had ("signal: aborted" -> -6, "exit status 70" -> 70, a timeout -> -9). With Event
// the service only acknowledges delivery; a worker that dies without reporting is then not seen.
// A plain 200 answer (no function error) is passed on as ExecutorListener::on_invocation_ended:
// the core ends the invocation as lost if its worker's exit report does not follow in time.
//
// cancel() cannot stop a running Lambda invocation (the service has no such call): it reports the
// invocation lost with -signal at once, drops the open request, and ignores the function's later
// outcome. The function itself runs on until it ends or times out.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "http_client.hpp"
#include "lambda_api.hpp"
#include "lambda_config.hpp"
#include "lithops/sdk/executor.hpp"
#include "lithops/sdk/plugin_context.hpp"

namespace lithops::aws {

class LambdaExecutor final : public sdk::Executor {
 public:
  // Throws sdk::ConfigError for a bad `aws_lambda` section or missing credentials.
  explicit LambdaExecutor(const sdk::PluginContext& context);
  // Abandons open requests (their functions keep running in Lambda); reports nothing.
  ~LambdaExecutor() override;

  void set_listener(sdk::ExecutorListener* listener) override;
  // Queues the Invoke request and returns. Throws sdk::PluginError for a duplicate id.
  sdk::InvocationInfo invoke(const sdk::Invocation& invocation) override;
  bool cancel(const std::string& invocation_id, int signal) override;
  // Requests not answered yet: running functions (RequestResponse) or undelivered ones (Event).
  std::size_t running() const override;
  // Waits for the Invoke answer of a RequestResponse invocation whose worker has reported: until
  // then Lambda counts its instance busy, and an invoke() would start another (a cold start).
  bool wait_released(const std::string& invocation_id, std::chrono::milliseconds timeout) override;
  // 6 MB for RequestResponse, 1 MB for Event: Lambda's payload quotas.
  std::size_t max_payload_bytes() const override;

  const std::string& function_name() const { return function_; }

 private:
  void on_response(const std::string& id, HttpResponse&& response);
  void lost(const std::string& id, int status, const std::string& reason);

  const LambdaConfig config_;
  std::string function_;
  std::unique_ptr<HttpClient> client_;
  std::unique_ptr<LambdaApi> api_;
  std::atomic<sdk::ExecutorListener*> listener_{nullptr};

  mutable std::mutex mutex_;
  std::condition_variable released_cv_;  // a request was answered (pending_ shrank)
  std::unordered_map<std::string, std::uint64_t> pending_;  // invocation id -> request id
};

// What an X-Amz-Function-Error answer means as a process exit status and a readable reason.
struct FunctionFailure {
  int status;
  std::string reason;
};
FunctionFailure describe_function_error(const std::string& function, const std::string& header,
                                        const std::string& body);

}  // namespace lithops::aws
