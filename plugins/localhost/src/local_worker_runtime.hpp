// The worker half of the localhost executor: runs in the re-executed program, reads invocations
// from the request socket the driver left at a fixed descriptor and answers "done" after each.
#pragma once

#include "lithops/sdk/executor.hpp"
#include "lithops/sdk/plugin_context.hpp"

namespace lithops::localhost {

class LocalWorkerRuntime final : public sdk::WorkerRuntime {
 public:
  // Throws sdk::PluginError if this process was not started by the localhost executor
  // (LITHOPS_LOCALHOST_FDS missing or naming descriptors that are not open).
  explicit LocalWorkerRuntime(const sdk::PluginContext& context);

  // Handles invocations one at a time until the driver closes the request socket (idle timeout,
  // executor destroyed, driver gone), then returns 0. Returns 1 on a protocol or I/O error.
  // Exceptions thrown by `handle` propagate to the caller.
  int serve(const Handler& handle) override;

 private:
  int requests_fd_ = -1;
  int events_fd_ = -1;
};

}  // namespace lithops::localhost
