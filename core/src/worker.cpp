#include "worker.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <boost/json.hpp>

#include "execution_details.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/init.hpp"
#include "lithops/multiprocessing/registry.hpp"
#include "lithops/sdk/worker_launch.hpp"
#include "output_stream.hpp"
#include "plugin_loader.hpp"
#include "process_internal.hpp"
#include "remote_error.hpp"
#include "runtime.hpp"
#include "sync_internal.hpp"

namespace lithops::multiprocessing {
namespace json = boost::json;

namespace detail {
namespace {

void flush_output() {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(stdout);
  std::fflush(stderr);
}

void run_process(const json::object& payload) {
  const auto delivered = now_us();
  auto& rt = Runtime::for_worker(payload.at("context").as_object());
  auto self = process_info_from_json(payload.at("self").as_object());
  self.pid = static_cast<long long>(::getpid());
  auto parent = process_info_from_json(payload.at("parent").as_object());
  self.authkey = parent.authkey;
  set_current_process(self, std::move(parent));
  apply_env(payload);

  std::optional<OutputCapture> capture;
  if (auto* channel = payload.if_contains("stream")) {
    capture.emplace(rt.store(), std::string(channel->as_string()), self.name);
  }
  int exitcode = 0;
  const auto started = now_us();
  try {
    auto fn = find_function(std::string(payload.at("function").as_string()));
    ScopedTarget target;
    fn.invoker(fn.fn, payload.at("args"));
  } catch (const SystemExit& e) {
    // As Python's sys.exit: the code is the exit status; a reason goes to stderr, status 1.
    if (!e.reason().empty()) {
      flush_output();
      std::fprintf(stderr, "%s\n", e.reason().c_str());
    }
    exitcode = e.code() & 0xff;
  } catch (...) {
    // As Python: the traceback goes to the child's stderr and the exit code is 1.
    auto error = capture_current_exception();
    flush_output();
    std::fprintf(stderr, "Process %s:\nTraceback (most recent call first):\n%s%s: %s\n",
                 self.name.c_str(), error.traceback.c_str(), error.type.c_str(),
                 error.message.c_str());
    exitcode = 1;
  }
  const auto finished = now_us();
  // As Python's bootstrap: non-daemon threads are joined, then atexit handlers run.
  const bool daemon_threads_left = run_end_of_process();
  // Python joins a process's own non-daemonic children before it exits.
  finalize_children();
  // The process "ends" here although the worker stays warm: locks its target left held must
  // expire like a dead holder's instead of being renewed for the next invocation's lifetime.
  drop_all_leases();
  flush_output();
  capture.reset();  // everything printed is published before the exit is reported
  const std::string key(payload.at("result_key").as_string());
  const std::string ended = ended_key(rt, self.ident);
  std::vector<sdk::Command> cmds{{"RPUSH", key,
                                  json::serialize(json::object{{"exitcode", exitcode},
                                                               {"delivered", delivered},
                                                               {"started", started},
                                                               {"finished", finished}})},
                                 {"EXPIRE", key, rt.store().expiry_text()},
                                 // The "ended" list is born with its expiry: MULTI makes the two
                                 // one step for every other client.
                                 {"MULTI"},
                                 {"RPUSH", ended, "1"},
                                 {"EXPIRE", ended, rt.store().expiry_text()},
                                 {"EXEC"}};
  for (const auto& r : rt.store().pipeline(cmds)) {
    if (r.is_error()) throw OSError("could not report the exit code: " + r.str);
  }
  if (daemon_threads_left) {
    // Daemon threads die with their process: this worker is not reused while they run on.
    flush_output();
    std::_Exit(0);
  }
}

}  // namespace

void apply_env(const json::object& payload) {
  auto* env = payload.if_contains("env");
  if (!env || !env->is_object()) return;
  for (const auto& kv : env->as_object()) {
    if (kv.value().is_string()) {
      ::setenv(std::string(kv.key()).c_str(), kv.value().as_string().c_str(), 1);
    }
  }
}

void handle_payload(const std::string& payload) {
  try {
    auto v = json::parse(payload);
    const auto& o = v.as_object();
    const auto& kind = o.at("kind").as_string();
    if (kind == "ref") {
      // A payload too large for the backend travelled through the store.
      auto& rt = Runtime::for_worker(o.at("context").as_object());
      const std::string key(o.at("key").as_string());
      auto r = rt.store().run({"GETDEL", key});
      if (r.type != sdk::Reply::Type::kString) {
        throw ValueError("payload " + key + " is no longer in the store (expired?)");
      }
      return handle_payload(r.str);
    }
    if (kind == "process") {
      run_process(o);
    } else if (kind == "pool_worker") {
      run_pool_worker(o);
    } else {
      throw ValueError("unknown payload kind '" + std::string(kind) + "'");
    }
  } catch (const std::exception& e) {
    flush_output();
    std::fprintf(stderr, "lithops worker %d: cannot run or report an invocation: %s\n",
                 static_cast<int>(::getpid()), e.what());
    std::fflush(stderr);
    // The executor sees the exit and reports the invocation lost, so nobody waits for it.
    ::_exit(70);
  }
}

}  // namespace detail

void init(int /*argc*/, char** /*argv*/) {
  std::string backend;
  if (const char* b = std::getenv(sdk::kWorkerBackendEnv); b && *b) {
    backend = b;
  } else if (std::getenv("AWS_LAMBDA_RUNTIME_API")) {
    backend = "aws_lambda";
  } else if (std::getenv("__OW_API_HOST")) {
    backend = "openwhisk";
  } else {
    return;  // the driver
  }
  detail::enable_throw_site_capture();
  int code = 0;
  try {
    static const json::object empty;
    sdk::PluginContext ctx;
    ctx.config = &empty;
    ctx.section = &empty;
    std::unique_ptr<sdk::WorkerRuntime> runtime;
    if (const char* file = std::getenv(sdk::kWorkerPluginFileEnv); file && *file) {
      runtime = detail::create_worker_runtime_from(file, backend, ctx);
    } else {
      runtime = detail::create_worker_runtime(backend, ctx);
    }
    code = runtime->serve([](const std::string& payload) { detail::handle_payload(payload); });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lithops worker (%s backend) failed: %s\n", backend.c_str(), e.what());
    code = 70;
  }
  std::exit(code);
}

void shutdown() { detail::Runtime::shutdown(); }

}  // namespace lithops::multiprocessing
