// What a process does besides running its target, as Python's process bootstrap: sys_exit,
// atexit handlers, threads joined before the exit is reported, the liveness of another process
// (parent_process().is_alive()), and start methods / contexts (mapped onto backends).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include <boost/json.hpp>

#include "config_internal.hpp"
#include "lithops/multiprocessing/config.hpp"
#include "lithops/multiprocessing/context.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/process.hpp"
#include "lithops/sdk/worker_launch.hpp"
#include "plugin_loader.hpp"
#include "process_internal.hpp"
#include "runtime.hpp"

namespace lithops::multiprocessing {
namespace json = boost::json;

namespace detail {
namespace {

thread_local bool t_in_target = false;

// Leaked on purpose: used from exit handlers, after static destructors may have run.
struct ProcessHooks {
  std::mutex mutex;
  std::vector<std::thread> threads;  // non-daemon threads not joined yet
  std::vector<std::function<void()>> atexit;
  bool driver_exit_registered = false;
};
ProcessHooks& hooks() {
  static auto* h = new ProcessHooks();
  return *h;
}
std::atomic<int> g_daemon_threads{0};

bool in_driver() { return current_process().ident.empty(); }

void register_driver_exit(ProcessHooks& h) {
  // Caller holds h.mutex.
  if (h.driver_exit_registered || !in_driver()) return;
  h.driver_exit_registered = true;
  std::atexit([] { run_end_of_process(); });
}

void flush_all() {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
}

}  // namespace

ScopedTarget::ScopedTarget() { t_in_target = true; }
ScopedTarget::~ScopedTarget() { t_in_target = false; }

bool run_end_of_process() {
  auto& h = hooks();
  // Non-daemon threads first (they may still register handlers or start threads), then the
  // handlers, last registered first.
  for (;;) {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(h.mutex);
      threads.swap(h.threads);
    }
    if (threads.empty()) break;
    for (auto& t : threads) t.join();
  }
  for (;;) {
    std::function<void()> handler;
    {
      std::lock_guard lock(h.mutex);
      if (h.atexit.empty()) break;
      handler = std::move(h.atexit.back());
      h.atexit.pop_back();
    }
    try {
      handler();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: an atexit handler threw: %s\n", e.what());
    } catch (const SystemExit&) {
      // As Python: SystemExit from an atexit handler is ignored.
    } catch (...) {
      std::fprintf(stderr, "lithops: an atexit handler threw a non-std::exception\n");
    }
  }
  return g_daemon_threads.load() > 0;
}

std::string ended_key(Runtime& rt, const std::string& ident) {
  return rt.prefix() + "proc:" + ident + ":ended";
}

std::string new_authkey() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key;
  for (int i = 0; i < 32; ++i) {
    const auto byte = rd() & 0xff;
    key.push_back(kHex[byte >> 4]);
    key.push_back(kHex[byte & 0xf]);
  }
  return key;
}

}  // namespace detail

// --- sys_exit, atexit, threads -------------------------------------------------------------------

void sys_exit(int code) {
  if (detail::t_in_target) throw SystemExit(code);
  detail::flush_all();
  std::exit(code);
}

void sys_exit(std::string_view reason) {
  if (detail::t_in_target) throw SystemExit(std::string(reason));
  detail::flush_all();
  std::fprintf(stderr, "%.*s\n", static_cast<int>(reason.size()), reason.data());
  std::exit(1);
}

void atexit_register(std::function<void()> handler) {
  if (!handler) throw ValueError("atexit_register: the handler is empty");
  auto& h = detail::hooks();
  std::lock_guard lock(h.mutex);
  detail::register_driver_exit(h);
  h.atexit.push_back(std::move(handler));
}

void start_thread(std::function<void()> fn, bool daemon) {
  if (!fn) throw ValueError("start_thread: the function is empty");
  auto body = [fn = std::move(fn), daemon] {
    try {
      fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: exception in thread: %s\n", e.what());
    } catch (const SystemExit&) {
      // As Python: SystemExit ends only the thread.
    } catch (...) {
      std::fprintf(stderr, "lithops: exception in thread (not a std::exception)\n");
    }
    if (daemon) --detail::g_daemon_threads;
  };
  if (daemon) {
    ++detail::g_daemon_threads;
    try {
      std::thread(std::move(body)).detach();
    } catch (...) {
      --detail::g_daemon_threads;
      throw;
    }
    return;
  }
  auto& h = detail::hooks();
  std::lock_guard lock(h.mutex);
  detail::register_driver_exit(h);
  h.threads.emplace_back(std::move(body));
}

// --- another process's liveness
// -------------------------------------------------------------------

bool ProcessInfo::is_alive() const {
  if (ident.empty() || ident == current_process().ident) return true;
  auto* rt = detail::Runtime::current();
  if (rt == nullptr) return false;  // no session: nothing of it runs
  return rt->store().run({"LLEN", detail::ended_key(*rt, ident)}).integer == 0;
}

bool ProcessInfo::join_for(detail::Duration timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto* rt = detail::Runtime::current();
  if (ident.empty() || ident == current_process().ident || rt == nullptr) {
    // The main process (or this one) does not end while we run: wait out the timeout.
    std::this_thread::sleep_for(timeout);
    return !is_alive();
  }
  const std::string key = detail::ended_key(*rt, ident);
  for (;;) {
    if (rt->store().run({"LLEN", key}).integer > 0) return true;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= detail::Duration::zero()) return false;
    // The "ended" list is never consumed: BLMOVE onto itself waits for it without taking it.
    const auto slice = std::min<detail::Duration>(left, std::chrono::seconds(1));
    const double seconds = std::max(0.001, std::chrono::duration<double>(slice).count());
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", seconds);
    auto r = rt->store().raw().execute(
        std::vector<std::string_view>{"BLMOVE", key, key, "RIGHT", "RIGHT", text},
        std::chrono::duration_cast<std::chrono::milliseconds>(slice) + std::chrono::seconds(5));
    if (r.is_error()) throw OSError("waiting for " + name + " to end: " + r.str);
    if (!r.is_nil()) return true;
  }
}

// --- start methods and contexts -----------------------------------------------------------------

std::vector<std::string> get_all_start_methods() {
  std::vector<std::string> names;
  for (const auto& dir : detail::plugin_search_path()) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const auto f = entry.path().filename().string();
      static const std::string prefix = "liblithops_executor_";
      if (f.starts_with(prefix) && f.ends_with(".so")) {
        auto n = f.substr(prefix.size(), f.size() - prefix.size() - 3);
        if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
      }
    }
  }
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    if ((a == "localhost") != (b == "localhost")) return a == "localhost";
    return a < b;
  });
  return names;
}

std::string get_start_method() {
  if (const char* b = std::getenv(sdk::kWorkerBackendEnv); b && *b && !detail::in_driver()) {
    return b;
  }
  // The session's backend once it runs; before, the one it will start with: the config file
  // merged with mp::config::LITHOPS_CONFIG (as the runtime will read them).
  auto* rt = detail::Runtime::current();
  const json::object config = rt != nullptr ? rt->config() : detail::effective_config();
  if (const auto* l = config.if_contains("lithops"); l && l->is_object()) {
    if (const auto* b = l->as_object().if_contains("backend"); b && b->is_string()) {
      return std::string(b->as_string());
    }
  }
  return "localhost";
}

namespace {
void check_method(std::string_view method) {
  const auto all = get_all_start_methods();
  if (std::find(all.begin(), all.end(), method) != all.end()) return;
  std::string known;
  for (const auto& m : all) known += (known.empty() ? "" : ", ") + m;
  throw ValueError("cannot find start method '" + std::string(method) +
                   "': no executor plugin liblithops_executor_" + std::string(method) +
                   ".so on the plugin path; available: " + (known.empty() ? "none" : known));
}
std::mutex g_context_mutex;
bool g_method_set = false;
}  // namespace

void set_start_method(std::string_view method, bool force) {
  check_method(method);
  std::lock_guard lock(g_context_mutex);
  if (detail::Runtime::current() != nullptr) {
    if (method == get_start_method()) {
      g_method_set = true;
      return;
    }
    throw ValueError("cannot set the start method to '" + std::string(method) +
                     "': this session already runs on '" + get_start_method() +
                     "' (set it before the first Process, Pool or shared object)");
  }
  if (g_method_set && !force) {
    throw ValueError("context has already been set; pass force=true to change it");
  }
  auto config = config::get_parameter(config::LITHOPS_CONFIG);
  if (!config.is_object()) config = json::object();
  auto& lithops = config.as_object()["lithops"];
  if (!lithops.is_object()) lithops = json::object();
  lithops.as_object()["backend"] = method;
  config::set_parameter(config::LITHOPS_CONFIG, config);
  g_method_set = true;
}

Context& get_context(std::string_view method) {
  const std::string m = method.empty() ? get_start_method() : std::string(method);
  check_method(m);
  std::lock_guard lock(g_context_mutex);
  static auto* contexts = new std::map<std::string, std::unique_ptr<Context>, std::less<>>();
  auto it = contexts->find(m);
  if (it == contexts->end()) it = contexts->emplace(m, new Context(m)).first;
  return *it->second;
}

void Context::set_start_method(std::string_view) const {
  throw ValueError("cannot set the start method of a context (it is '" + method_ +
                   "'); use mp::set_start_method() or mp::get_context(method)");
}

void Context::check_usable() const {
  const auto session = multiprocessing::get_start_method();  // the session's, not this member
  if (session == method_) return;
  throw ValueError("the context of '" + method_ +
                   "' cannot start processes: this session runs on '" + session +
                   "' and one session uses one backend (choose it with "
                   "mp::set_start_method before the first Process)");
}

}  // namespace lithops::multiprocessing
