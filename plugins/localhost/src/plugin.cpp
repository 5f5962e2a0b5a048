// The plugin's exported factories: liblithops_executor_localhost.so.
#include "lithops/sdk/plugin.hpp"

#include "local_executor.hpp"
#include "local_worker_runtime.hpp"

using lithops::localhost::LocalExecutor;
using lithops::localhost::LocalWorkerRuntime;

namespace {
using lithops::sdk::ConfigType;
// local_config.cpp checks the values further (prewarm <= max_workers, variable names).
const lithops::sdk::ConfigSchema kSchema{
    "localhost",
    "runs invocations in worker processes on this machine (re-executions of the program)",
    {{"max_workers", ConfigType::kInteger, "worker processes at most", "4096", 1, 1000000},
     {"idle_timeout", ConfigType::kNumber, "seconds an idle warm worker lives", "60", 0,
      365.0 * 24 * 3600},
     {"prewarm", ConfigType::kInteger, "workers started at once", "0", 0, 1000000},
     {"worker_env", ConfigType::kObject, "environment variables of every worker", "{}"}}};
}  // namespace

LITHOPS_EXECUTOR_PLUGIN("localhost", LocalExecutor, LocalWorkerRuntime)
LITHOPS_PLUGIN_CONFIG(kSchema)
