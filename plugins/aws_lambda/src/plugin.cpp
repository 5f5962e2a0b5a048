// The plugin's exported factories: liblithops_executor_aws_lambda.so.
#include "lithops/sdk/plugin.hpp"

#include "lambda_executor.hpp"
#include "lambda_worker_runtime.hpp"

using lithops::aws::LambdaExecutor;
using lithops::aws::LambdaWorkerRuntime;

LITHOPS_EXECUTOR_PLUGIN("aws_lambda", LambdaExecutor, LambdaWorkerRuntime)
