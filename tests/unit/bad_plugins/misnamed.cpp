// A plugin whose exported name ("forkexec") is not the one in its file name
// (liblithops_executor_forkexec2.so): the loader must refuse it, naming both.
#include <stdexcept>

#include "lithops/sdk/plugin.hpp"

namespace {
class NeverExecutor : public lithops::sdk::Executor {
 public:
  explicit NeverExecutor(const lithops::sdk::PluginContext&) {
    throw std::logic_error("a misnamed plugin must never be constructed");
  }
  void set_listener(lithops::sdk::ExecutorListener*) override {}
  lithops::sdk::InvocationInfo invoke(const lithops::sdk::Invocation&) override { return {}; }
  bool cancel(const std::string&, int) override { return false; }
  std::size_t running() const override { return 0; }
};
class NeverRuntime : public lithops::sdk::WorkerRuntime {
 public:
  explicit NeverRuntime(const lithops::sdk::PluginContext&) {}
  int serve(const Handler&) override { return 1; }
};
}  // namespace

LITHOPS_EXECUTOR_PLUGIN("forkexec", NeverExecutor, NeverRuntime)
