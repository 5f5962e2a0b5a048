// The plugin's exported factories: liblithops_executor_localhost.so.
#include "lithops/sdk/plugin.hpp"

#include "local_executor.hpp"
#include "local_worker_runtime.hpp"

using lithops::localhost::LocalExecutor;
using lithops::localhost::LocalWorkerRuntime;

LITHOPS_EXECUTOR_PLUGIN("localhost", LocalExecutor, LocalWorkerRuntime)
