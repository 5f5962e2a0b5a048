#include "lambda_executor.hpp"

#include <unistd.h>

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "lithops/sdk/errors.hpp"

namespace lithops::aws {

namespace {

constexpr long kEventConnections = 16;

// The function to invoke when the config names none: inside Lambda (a process started by a
// worker) the function this worker runs as; otherwise the one `lithops runtime deploy` made for
// this program. /proc/self/exe is not used inside Lambda, where it is the packaged dynamic loader.
std::string default_function(const LambdaConfig& config) {
  if (const char* own = std::getenv("AWS_LAMBDA_FUNCTION_NAME");
      own && *own && config.function_name.empty()) {
    return own;
  }
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return config.resolve_function_name(ec ? std::string("program") : p.string());
}

// The process status a runtime exit reported by Lambda corresponds to. Lambda words it as Go's
// os.ProcessState does: "exit status 70", "signal: aborted (core dumped)", "signal: killed".
int status_from_message(const std::string& message) {
  static const std::array<std::pair<const char*, int>, 9> kSignals{
      {{"aborted", SIGABRT},
       {"killed", SIGKILL},
       {"segmentation fault", SIGSEGV},
       {"terminated", SIGTERM},
       {"bus error", SIGBUS},
       {"floating point exception", SIGFPE},
       {"illegal instruction", SIGILL},
       {"interrupt", SIGINT},
       {"hangup", SIGHUP}}};
  if (auto at = message.find("exit status "); at != std::string::npos) {
    try {
      return std::stoi(message.substr(at + 12));
    } catch (const std::exception&) {
      return 1;
    }
  }
  if (auto at = message.find("signal: "); at != std::string::npos) {
    const auto name = message.substr(at + 8);
    for (const auto& [text, sig] : kSignals) {
      if (name.starts_with(text)) return -sig;
    }
    return -SIGKILL;
  }
  return 1;
}

}  // namespace

FunctionFailure describe_function_error(const std::string& function, const std::string& header,
                                        const std::string& body) {
  std::string type = header;
  std::string message = body.substr(0, 1000);
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    if (const auto* t = o.if_contains("errorType"); t && t->is_string()) type = t->as_string();
    if (const auto* m = o.if_contains("errorMessage"); m && m->is_string()) {
      message = m->as_string();
    }
  }
  int status = status_from_message(message);
  if (type == "Lithops.DeadlineExceeded" || message.find("Task timed out") != std::string::npos) {
    status = -SIGKILL;  // what a local process killed for running too long would show
  }
  return {status, "AWS Lambda function " + function + " failed (" + type + "): " + message};
}

LambdaExecutor::LambdaExecutor(const sdk::PluginContext& context)
    : config_(LambdaConfig::parse(context.section)),
      function_(default_function(config_)),
      // An Event request ends as soon as Lambda queues it, so a few connections carry any burst
      // (a connection per request would be thousands of sockets and handshakes). A RequestResponse
      // request stays open while its function runs, so there every running invocation needs its
      // own connection over HTTP/1.1: no cap.
      client_(std::make_unique<HttpClient>(
          config_.invocation_type == InvocationType::kEvent ? kEventConnections : 0)),
      api_(std::make_unique<LambdaApi>(config_, *client_)) {}

LambdaExecutor::~LambdaExecutor() {
  // The client's thread calls on_response; stop it before the members it uses go.
  client_.reset();
}

void LambdaExecutor::set_listener(sdk::ExecutorListener* listener) { listener_ = listener; }

sdk::InvocationInfo LambdaExecutor::invoke(const sdk::Invocation& invocation) {
  auto request = api_->invoke_request(function_, invocation.payload, config_.invocation_type);
  std::lock_guard lock(mutex_);  // on_response waits for the id to be recorded
  if (pending_.contains(invocation.id)) {
    throw sdk::PluginError("aws_lambda: invocation id " + invocation.id + " is already running");
  }
  const auto id = invocation.id;
  try {
    pending_[id] = client_->submit(
        std::move(request), api_->retry_policy(), [this](HttpRequest& r) { api_->sign(r); },
        [this, id](HttpResponse&& r) { on_response(id, std::move(r)); });
  } catch (const std::exception& e) {
    pending_.erase(id);
    throw sdk::PluginError(std::string("aws_lambda: cannot send the invocation: ") + e.what());
  }
  return {};
}

void LambdaExecutor::on_response(const std::string& id, HttpResponse&& response) {
  {
    std::lock_guard lock(mutex_);
    if (pending_.erase(id) == 0) return;  // cancelled: the outcome no longer matters
  }
  released_cv_.notify_all();
  const auto function_error = response.header("x-amz-function-error");
  if (!function_error.empty()) {
    const auto failure = describe_function_error(function_, function_error, response.body);
    lost(id, failure.status, failure.reason);
    return;
  }
  if (response.status == 202) return;  // Event: delivered; the worker reports itself
  if (response.status == 200) {
    // The function returned. Its worker reported through the store just before; if it did not
    // (a runtime that died where the platform words it as a plain answer, as AWS's runtime
    // interface emulator does), the core ends the invocation as lost after its grace period.
    if (auto* l = listener_.load()) l->on_invocation_ended(id);
    return;
  }
  std::string reason;
  if (response.status == 0) {
    reason = "cannot reach the Lambda API at " + config_.endpoint_url + ": " + response.error;
  } else {
    reason = "Lambda refused the invocation of " + function_ + " with HTTP " +
             std::to_string(response.status);
    if (auto type = response.header("x-amzn-errortype"); !type.empty()) {
      reason.append(" ").append(type, 0, type.find(':'));
    }
    if (!response.body.empty()) reason.append(": ").append(response.body, 0, 500);
    if (response.status == 404) {
      reason += " (deploy the function first: lithops runtime deploy)";
    }
  }
  if (response.attempts > 1)
    reason += " (after " + std::to_string(response.attempts) + " attempts)";
  lost(id, 1, reason);
}

void LambdaExecutor::lost(const std::string& id, int status, const std::string& reason) {
  if (auto* l = listener_.load()) {
    l->on_invocation_lost(id, status, reason);
  } else {
    std::fprintf(stderr, "lithops aws_lambda: invocation %s lost: %s\n", id.c_str(),
                 reason.c_str());
  }
}

bool LambdaExecutor::cancel(const std::string& invocation_id, int signal) {
  std::uint64_t request = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(invocation_id);
    if (it == pending_.end()) return false;
    request = it->second;
    pending_.erase(it);
  }
  released_cv_.notify_all();
  client_->abort(request);
  lost(invocation_id, -signal,
       "cancelled with signal " + std::to_string(signal) +
           "; AWS Lambda cannot stop a running invocation, so the function may run on until it "
           "ends or times out");
  return true;
}

bool LambdaExecutor::wait_released(const std::string& invocation_id,
                                   std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return released_cv_.wait_for(lock, timeout, [&] { return !pending_.contains(invocation_id); });
}

std::size_t LambdaExecutor::running() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

std::size_t LambdaExecutor::max_payload_bytes() const {
  return aws::max_payload_bytes(config_.invocation_type);
}

}  // namespace lithops::aws
