// Invocations and function instances: the Invoke API, cold starts and warm reuse, the per-instance
// Runtime API, timeouts and instances that die.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "emulator.hpp"

extern char** environ;

namespace lithops::emulator {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kSyncPayloadLimit = 6u * 1024 * 1024;
constexpr std::size_t kEventPayloadLimit = 1024u * 1024;
constexpr std::string_view kRuntimePrefix = "/2018-06-01/runtime/";

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

long long config_int(const json::object& config, const char* key, long long fallback) {
  const auto* v = config.if_contains(key);
  return v != nullptr && v->is_number() ? v->to_number<long long>() : fallback;
}

// How Lambda words a runtime's end (Go's os.ProcessState): "exit status 1", "signal: aborted".
std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    std::string name = ::strsignal(WTERMSIG(status));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return "signal: " + name + (WCOREDUMP(status) ? " (core dumped)" : "");
  }
  return "status " + std::to_string(status);
}

std::string error_body(const std::string& type, const std::string& message) {
  return json::serialize(json::object{{"errorType", type}, {"errorMessage", message}});
}

}  // namespace

std::size_t Emulator::active() const {
  std::size_t n = 0;
  for (const auto& [id, inst] : instances_) {
    if (inst->state != State::kIdle) ++n;
  }
  return n;
}

void Emulator::invoke(const std::string& name, Request&& request, Respond& respond) {
  auto* fn = find(name, respond);
  if (fn == nullptr) return;
  auto type = request.header("x-amz-invocation-type");
  if (type.empty()) type = "RequestResponse";
  if (type != "RequestResponse" && type != "Event" && type != "DryRun") {
    respond(error_response(400, "InvalidParameterValueException",
                           "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun"));
    return;
  }
  if (fn->config.at("State") != "Active") {
    respond(error_response(409, "ResourceConflictException",
                           "The operation cannot be performed at this time. The function is "
                           "currently in the following state: " +
                               std::string(fn->config.at("State").as_string())));
    return;
  }
  const bool sync = type == "RequestResponse";
  const std::size_t limit = sync ? kSyncPayloadLimit : kEventPayloadLimit;
  if (request.body.size() > limit) {
    respond(error_response(413, "RequestEntityTooLargeException",
                           std::to_string(request.body.size()) +
                               " byte payload is too large for the " + type +
                               " invocation type (limit " + std::to_string(limit) + " bytes)"));
    return;
  }
  if (type == "DryRun") {
    respond(Response{204, {}, {}});
    return;
  }
  auto inv = std::make_shared<Invocation>();
  inv->request_id = new_request_id();
  inv->function = name;
  inv->payload = std::move(request.body);
  ++stats_.invocations;
  if (!sync) {
    // Lambda queues Event invocations and runs them as capacity allows: never a 429 here.
    fn->queue.push_back(std::move(inv));
    respond(Response{202, {{"X-Amzn-RequestId", new_request_id()}}, {}});
    dispatch(name);
    return;
  }
  inv->respond = std::move(respond);
  if (auto inst = idle_instance(*fn, name)) {
    assign(inst, std::move(inv));
  } else if (active() < options_.concurrency) {
    cold_start(name, *fn, std::move(inv));
  } else {
    ++stats_.throttled;
    inv->respond(error_response(429, "TooManyRequestsException", "Rate Exceeded."));
  }
}

Emulator::InstancePtr Emulator::idle_instance(const Function& fn, const std::string& name) {
  // The most recently used idle instance of the current code, as Lambda reuses warm ones.
  for (auto it = instances_.rbegin(); it != instances_.rend(); ++it) {
    const auto& inst = it->second;
    if (inst->function == name && inst->state == State::kIdle && !inst->retiring &&
        inst->generation == fn.generation) {
      return inst;
    }
  }
  return nullptr;
}

void Emulator::dispatch(const std::string& name) {
  auto it = functions_.find(name);
  if (it == functions_.end()) return;
  auto& fn = it->second;
  if (fn.config.at("State") != "Active") return;
  while (!fn.queue.empty()) {
    if (auto inst = idle_instance(fn, name)) {
      assign(inst, fn.queue.front());
    } else if (active() < options_.concurrency) {
      cold_start(name, fn, fn.queue.front());
    } else {
      return;
    }
    fn.queue.pop_front();
  }
}

void Emulator::dispatch_all() {
  for (auto& [name, fn] : functions_) {
    if (!fn.queue.empty()) dispatch(name);
  }
}

void Emulator::assign(const InstancePtr& instance, InvocationPtr invocation) {
  ++stats_.warm_starts;
  loop_.cancel_timer(instance->idle_timer);
  instance->idle_timer = 0;
  instance->state = State::kBusy;
  instance->current = std::move(invocation);
  deliver(instance);
}

void Emulator::cold_start(const std::string& name, Function& fn, InvocationPtr invocation) {
  ++stats_.cold_starts;
  const fs::path bootstrap = fn.code_dir / "bootstrap";
  if (::access(bootstrap.c_str(), X_OK) != 0) {
    fail_invocation(invocation, "Runtime.InvalidEntrypoint",
                    "RequestId: " + invocation->request_id +
                        " Error: Couldn't find valid bootstrap(s): [" + bootstrap.string() + "]");
    return;
  }
  // Lambda keeps warm instances; we keep idle ones only while there is room beside busy ones.
  if (instances_.size() >= options_.concurrency) {
    for (auto& [id, inst] : instances_) {
      if (inst->state == State::kIdle && !inst->retiring) {
        kill_instance(inst);
        break;
      }
    }
  }
  auto inst = std::make_shared<Instance>();
  inst->id = ++next_instance_;
  inst->function = name;
  inst->generation = fn.generation;
  inst->state = State::kBusy;
  inst->current = std::move(invocation);
  const auto id = inst->id;
  const auto listener = loop_.listen(options_.address, 0, [this, id](Request&& r, Respond res) {
    runtime_api(id, std::move(r), std::move(res));
  });
  inst->listener = listener.id;

  // The environment Lambda gives a custom runtime, plus the function's variables.
  std::vector<std::string> env{
      "AWS_LAMBDA_RUNTIME_API=" + options_.address + ":" + std::to_string(listener.port),
      "AWS_LAMBDA_FUNCTION_NAME=" + name,
      "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
      "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + std::to_string(config_int(fn.config, "MemorySize", 128)),
      "AWS_REGION=" + options_.region,
      "AWS_DEFAULT_REGION=" + options_.region,
      "LAMBDA_TASK_ROOT=" + fn.code_dir.string(),
      "LAMBDA_RUNTIME_DIR=" + fn.code_dir.string(),
      "_HANDLER=" + std::string(fn.config.at("Handler").as_string()),
      "TZ=:UTC",
      "PATH=/usr/local/bin:/usr/bin:/bin",
  };
  for (const auto& var : options_.pass_env) {
    if (const char* v = std::getenv(var.c_str())) env.push_back(var + "=" + v);
  }
  if (const auto* e = fn.config.at("Environment").as_object().if_contains("Variables")) {
    if (e->is_object()) {
      for (const auto& [k, v] : e->as_object()) {
        if (v.is_string()) env.push_back(std::string(k) + "=" + std::string(v.as_string()));
      }
    }
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string bootstrap_path = bootstrap.string();
  std::string dir = fn.code_dir.string();
  char* argv[] = {bootstrap_path.data(), nullptr};

  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec. Its own process group, so killing the instance
    // kills whatever it started; and it dies with the emulator.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(2, 1);  // function output goes to the emulator's stderr, as to CloudWatch Logs
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execve(bootstrap_path.c_str(), argv, envp.data());
    ::_exit(127);
  }
  if (pid < 0) {
    loop_.close(listener.id);
    fail_invocation(inst->current, "Runtime.StartError",
                    std::string("cannot start the instance: ") + std::strerror(errno));
    return;
  }
  inst->pid = pid;
  inst->pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  instances_[id] = inst;
  if (inst->pidfd >= 0) {
    loop_.watch_readable(inst->pidfd, [this, id] { on_exit(id); });
  }
}

void Emulator::runtime_api(std::uint64_t id, Request&& request, Respond respond) {
  auto it = instances_.find(id);
  if (it == instances_.end()) {
    respond(Response{410, {}, "instance gone"});
    return;
  }
  auto inst = it->second;
  const auto path = request.path();
  if (!path.starts_with(kRuntimePrefix)) {
    respond(error_response(404, "UnknownOperationException", "unknown Runtime API path " + path));
    return;
  }
  const auto rest = path.substr(kRuntimePrefix.size());
  if (rest == "invocation/next" && request.method == "GET") {
    inst->parked_next = std::move(respond);
    if (inst->current && !inst->current->delivered) {
      deliver(inst);
    } else if (inst->state == State::kStarting) {
      became_idle(inst);
    }
    return;
  }
  if (rest == "init/error" && request.method == "POST") {
    respond(Response{202, {}, R"({"status":"OK"})"});
    if (inst->current) {
      complete(inst, 200, {{"X-Amz-Function-Error", "Unhandled"}}, request.body);
    }
    kill_instance(inst);
    return;
  }
  // invocation/<id>/response or invocation/<id>/error
  const auto slash = rest.rfind('/');
  const auto request_id = rest.substr(11, slash == std::string::npos ? 0 : slash - 11);
  const auto verb = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
  if (!rest.starts_with("invocation/") || request.method != "POST" ||
      (verb != "response" && verb != "error")) {
    respond(error_response(404, "UnknownOperationException", "unknown Runtime API call " + path));
    return;
  }
  if (!inst->current || inst->current->request_id != request_id || !inst->current->delivered) {
    respond(error_response(400, "InvalidRequestID", "no invocation " + request_id + " is running"));
    return;
  }
  // One invocation per instance until its Runtime API answer is complete: the instance stays
  // busy (and the Invoke request unanswered) until our reply to the runtime's POST is written, so
  // an invocation sent the moment the caller sees the answer finds this instance idle.
  Response reply{202, {}, R"({"status":"OK"})"};
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  if (request.body.size() > kSyncPayloadLimit) {
    reply = error_response(413, "RequestEntityTooLargeException", "response too large");
    headers = {{"X-Amz-Function-Error", "Unhandled"}};
    body = error_body("Function.ResponseSizeTooLarge",
                      "Response payload size exceeded maximum allowed payload size (6291556 "
                      "bytes).");
  } else {
    if (verb == "error") {
      ++stats_.function_errors;
      headers = {{"X-Amz-Function-Error", "Unhandled"}};
    }
    body = std::move(request.body);
  }
  loop_.cancel_timer(inst->timeout_timer);  // it answered in time
  inst->timeout_timer = 0;
  inst->answer.emplace(std::move(headers), std::move(body));
  auto sent = [this, id] {
    auto found = instances_.find(id);
    if (found == instances_.end() || !found->second->answer) return;  // on_exit answered
    auto i = found->second;
    auto [h, b] = std::move(*i->answer);
    i->answer.reset();
    complete(i, 200, std::move(h), std::move(b));
    became_idle(i);
  };
  respond(std::move(reply), std::move(sent));
}

void Emulator::deliver(const InstancePtr& inst) {
  if (!inst->parked_next || !inst->current) return;
  auto& inv = *inst->current;
  const auto& fn = functions_.at(inst->function);
  const long long timeout_ms = config_int(fn.config, "Timeout", 3) * 1000;
  inv.delivered = true;
  auto respond = std::move(inst->parked_next);
  inst->parked_next = nullptr;
  respond(Response{200,
                   {{"Content-Type", "application/json"},
                    {"Lambda-Runtime-Aws-Request-Id", inv.request_id},
                    {"Lambda-Runtime-Deadline-Ms", std::to_string(now_ms() + timeout_ms)},
                    {"Lambda-Runtime-Invoked-Function-Arn",
                     std::string(fn.config.at("FunctionArn").as_string())},
                    {"Lambda-Runtime-Trace-Id", "Root=1-" + inv.request_id.substr(0, 8)}},
                   std::move(inv.payload)});
  const auto id = inst->id;
  inst->timeout_timer =
      loop_.set_timer(std::chrono::milliseconds(timeout_ms), [this, id, timeout_ms] {
        auto it = instances_.find(id);
        if (it == instances_.end() || !it->second->current) return;
        auto i = it->second;
        i->timeout_timer = 0;
        i->timed_out = true;
        ++stats_.function_errors;
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.2f", static_cast<double>(timeout_ms) / 1000.0);
        complete(i, 200, {{"X-Amz-Function-Error", "Unhandled"}},
                 error_body("Sandbox.Timedout", "RequestId: " + i->current->request_id +
                                                    " Error: Task timed out after " + seconds +
                                                    " seconds"));
        kill_instance(i);
      });
}

void Emulator::complete(const InstancePtr& inst, int status,
                        std::vector<std::pair<std::string, std::string>> headers,
                        std::string body) {
  auto inv = std::move(inst->current);
  inst->current = nullptr;
  loop_.cancel_timer(inst->timeout_timer);
  inst->timeout_timer = 0;
  if (!inv) return;
  if (inv->respond) {
    headers.emplace_back("X-Amz-Executed-Version", "$LATEST");
    headers.emplace_back("X-Amzn-RequestId", inv->request_id);
    headers.emplace_back("Content-Type", "application/json");
    inv->respond(Response{status, std::move(headers), std::move(body)});
  } else if (!headers.empty()) {
    std::fprintf(stderr, "lithops-lambda-emulator: Event invocation %s of %s failed: %s\n",
                 inv->request_id.c_str(), inv->function.c_str(), body.c_str());
  }
}

void Emulator::became_idle(const InstancePtr& inst) {
  if (inst->retiring) {
    kill_instance(inst);
    return;
  }
  inst->state = State::kIdle;
  const auto id = inst->id;
  loop_.cancel_timer(inst->idle_timer);
  inst->idle_timer = loop_.set_timer(options_.idle_timeout, [this, id] {
    auto it = instances_.find(id);
    if (it != instances_.end() && it->second->state == State::kIdle) kill_instance(it->second);
  });
  dispatch(inst->function);  // warm reuse first
  dispatch_all();            // then whatever waits for capacity
}

void Emulator::kill_instance(const InstancePtr& inst) {
  inst->retiring = true;
  if (inst->pid > 0) ::kill(-inst->pid, SIGKILL);
}

void Emulator::on_exit(std::uint64_t id) {
  auto it = instances_.find(id);
  if (it == instances_.end()) return;
  auto inst = it->second;
  int status = 0;
  ::waitpid(inst->pid, &status, 0);
  ::close(inst->pidfd);
  loop_.close(inst->listener);
  loop_.cancel_timer(inst->idle_timer);
  if (inst->answer) {
    // It exited right after answering, before our reply was written: its answer stands.
    auto [h, b] = std::move(*inst->answer);
    inst->answer.reset();
    complete(inst, 200, std::move(h), std::move(b));
  } else if (inst->current && options_.exit_answer == Options::ExitAnswer::kEmpty200) {
    // As AWS's runtime interface emulator answers for a runtime that died: nothing to tell.
    ++stats_.function_errors;
    complete(inst, 200, {}, std::string());
  } else if (inst->current) {
    ++stats_.function_errors;
    const auto& rid = inst->current->request_id;
    complete(inst, 200, {{"X-Amz-Function-Error", "Unhandled"}},
             error_body("Runtime.ExitError",
                        "RequestId: " + rid +
                            " Error: Runtime exited with error: " + describe_exit(status)));
  }
  instances_.erase(it);
  dispatch_all();
}

void Emulator::retire_instances(const std::string& name) {
  for (auto& [id, inst] : instances_) {
    if (inst->function != name) continue;
    if (inst->state == State::kIdle) {
      kill_instance(inst);
    } else {
      inst->retiring = true;
    }
  }
}

void Emulator::fail_invocation(const InvocationPtr& invocation, const std::string& type,
                               const std::string& message) {
  ++stats_.function_errors;
  if (invocation->respond) {
    invocation->respond(Response{200,
                                 {{"X-Amz-Function-Error", "Unhandled"},
                                  {"Content-Type", "application/json"},
                                  {"X-Amzn-RequestId", invocation->request_id}},
                                 error_body(type, message)});
  } else {
    std::fprintf(stderr, "lithops-lambda-emulator: Event invocation %s of %s failed: %s\n",
                 invocation->request_id.c_str(), invocation->function.c_str(), message.c_str());
  }
}

}  // namespace lithops::emulator
