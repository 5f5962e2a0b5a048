// The plugin's exported factories: liblithops_executor_aws_lambda.so.
#include "lithops/sdk/plugin.hpp"

#include "lambda_executor.hpp"
#include "lambda_worker_runtime.hpp"

using lithops::aws::LambdaExecutor;
using lithops::aws::LambdaWorkerRuntime;
using lithops::sdk::ConfigType;

namespace {
// docs/backends/aws_lambda.md describes each key; lambda_config.cpp checks the values further.
const lithops::sdk::ConfigSchema kSchema{
    "aws_lambda",
    "runs invocations as AWS Lambda functions",
    {{"region", ConfigType::kString, "AWS region", "$AWS_REGION, else us-east-1"},
     {"execution_role", ConfigType::kString, "IAM role ARN the function runs as", ""},
     {"memory", ConfigType::kInteger, "function memory (MB)", "1024", 128, 10240},
     {"timeout", ConfigType::kInteger, "function timeout (s)", "900", 1, 900},
     {"max_retries", ConfigType::kInteger, "retries of a throttled or failed call", "10", 0, 100},
     {"retry_base_ms", ConfigType::kInteger, "first retry delay (ms)", "100", 1, 60000},
     {"architecture", ConfigType::kString, "x86_64 or arm64", "x86_64"},
     {"function_name", ConfigType::kString, "deployed function to invoke", ""},
     {"function_prefix", ConfigType::kString, "prefix of generated function names", ""},
     {"endpoint_url", ConfigType::kString, "Lambda API endpoint", "https://lambda.<region>..."},
     {"invocation_type", ConfigType::kString, "RequestResponse or Event", "RequestResponse"},
     {"access_key_id", ConfigType::kString, "AWS access key id", "$AWS_ACCESS_KEY_ID"},
     {"secret_access_key", ConfigType::kString, "AWS secret key", "", {}, {}, true},
     {"session_token", ConfigType::kString, "AWS session token", "", {}, {}, true},
     {"profile", ConfigType::kString, "profile in ~/.aws/credentials", "default"}}};
}  // namespace

LITHOPS_EXECUTOR_PLUGIN("aws_lambda", LambdaExecutor, LambdaWorkerRuntime)
LITHOPS_PLUGIN_CONFIG(kSchema)
