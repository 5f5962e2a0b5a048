// The worker half of the aws_lambda executor: the Lambda Runtime API loop of a custom runtime
// (next -> handle -> response / error), started by mp::init when AWS_LAMBDA_RUNTIME_API is set.
#pragma once

#include <memory>

#include "lithops/sdk/executor.hpp"
#include "lithops/sdk/plugin_context.hpp"
#include "runtime_api.hpp"

namespace lithops::aws {

class LambdaWorkerRuntime final : public sdk::WorkerRuntime {
 public:
  // Throws sdk::PluginError if AWS_LAMBDA_RUNTIME_API is missing or malformed.
  explicit LambdaWorkerRuntime(const sdk::PluginContext& context);
  ~LambdaWorkerRuntime() override;

  // Serves invocations one at a time: each request body goes to `handle` verbatim. The handler
  // reports through the store; the Runtime API then gets an empty JSON object as the response,
  // or an error if `handle` threw (and the loop goes on). When an invocation is still running
  // shortly before its Lambda-Runtime-Deadline-Ms, the runtime posts a Lithops.DeadlineExceeded
  // error and ends the process with status 70 (Lambda would kill it at the deadline anyway; this
  // way the driver learns why). Returns 0 when the Runtime API goes away, 1 when it answers
  // something unexpected.
  int serve(const Handler& handle) override;

 private:
  class Watchdog;
  std::unique_ptr<RuntimeApiClient> api_;
};

}  // namespace lithops::aws
