#include "lambda_worker_runtime.hpp"

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <typeinfo>

#include "lithops/sdk/errors.hpp"

namespace lithops::aws {

// Ends the process shortly before an invocation's deadline. It has its own Runtime API client:
// the serving thread's one is busy inside the handler's call or idle, never safe to share.
class LambdaWorkerRuntime::Watchdog {
 public:
  explicit Watchdog(std::string base_url) : base_url_(std::move(base_url)) {
    thread_ = std::thread([this] { run(); });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void arm(const std::string& request_id, std::chrono::system_clock::time_point deadline) {
    std::lock_guard lock(mutex_);
    request_id_ = request_id;
    // Margin for posting the error: a tenth of the time left, at most a second.
    const auto left = deadline - std::chrono::system_clock::now();
    fire_at_ = deadline -
               std::min<std::chrono::system_clock::duration>(left / 10, std::chrono::seconds(1));
    armed_ = true;
    cv_.notify_all();
  }
  void disarm() {
    std::lock_guard lock(mutex_);
    armed_ = false;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (stopping_) return;
      if (!armed_) {
        cv_.wait(lock);
        continue;
      }
      if (cv_.wait_until(lock, fire_at_) == std::cv_status::no_timeout) continue;
      if (!armed_ || std::chrono::system_clock::now() < fire_at_) continue;
      std::fprintf(stderr,
                   "lithops aws_lambda worker: invocation %s is about to exceed the function's "
                   "timeout; ending the instance\n",
                   request_id_.c_str());
      try {
        RuntimeApiClient(base_url_).fail(
            request_id_, "Lithops.DeadlineExceeded",
            "the invocation was still running at the function's deadline (its timeout): raise "
            "aws_lambda.timeout or split the work");
      } catch (const std::exception&) {
        // Nothing more to do: Lambda reports the timeout itself.
      }
      std::fflush(nullptr);
      ::_exit(70);
    }
  }

  const std::string base_url_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string request_id_;
  std::chrono::system_clock::time_point fire_at_;
  bool armed_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

LambdaWorkerRuntime::LambdaWorkerRuntime(const sdk::PluginContext& /*context*/) {
  const char* value = std::getenv("AWS_LAMBDA_RUNTIME_API");
  try {
    api_ = std::make_unique<RuntimeApiClient>(runtime_api_base_url(value == nullptr ? "" : value));
  } catch (const std::exception& e) {
    throw sdk::PluginError(std::string("aws_lambda worker: ") + e.what() +
                           "; this process must be started by AWS Lambda (or an emulator of its "
                           "Runtime API) with AWS_LAMBDA_RUNTIME_API set to host:port");
  }
}

LambdaWorkerRuntime::~LambdaWorkerRuntime() = default;

int LambdaWorkerRuntime::serve(const Handler& handle) {
  if (!handle) {
    api_->init_error("Lithops.InitError", "the worker started without an invocation handler");
    return 1;
  }
  Watchdog watchdog(api_->base_url());
  for (;;) {
    std::optional<NextInvocation> inv;
    try {
      inv = api_->next();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops aws_lambda worker: %s\n", e.what());
      return 1;
    }
    if (!inv) return 0;
    if (!inv->trace_id.empty()) ::setenv("_X_AMZN_TRACE_ID", inv->trace_id.c_str(), 1);
    if (inv->deadline) watchdog.arm(inv->request_id, *inv->deadline);
    std::string error_type;
    std::string error_message;
    try {
      handle(inv->payload);
    } catch (const std::exception& e) {
      error_type = typeid(e).name();
      error_message = e.what();
    } catch (...) {
      error_type = "unknown";
      error_message = "a non-standard exception escaped the invocation handler";
    }
    watchdog.disarm();
    std::fflush(nullptr);
    const bool ok = error_type.empty() ? api_->respond(inv->request_id, "{}")
                                       : api_->fail(inv->request_id, error_type, error_message);
    if (!ok) return 1;
  }
}

}  // namespace lithops::aws
