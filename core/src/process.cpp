#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <cstring>

#include <algorithm>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

#include <boost/json.hpp>

#include "config_internal.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/process.hpp"
#include "process_internal.hpp"
#include "runtime.hpp"
#include "sentinel_internal.hpp"

namespace lithops::multiprocessing {
namespace json = boost::json;

namespace detail {

struct ProcessState {
  std::mutex mutex;
  std::string name;
  bool daemon = false;
  std::string function;
  json::value args;
  bool started = false;
  bool closed = false;
  std::string id;
  std::string result_key;
  std::optional<long long> pid;
  std::optional<int> exitcode;
  std::optional<std::string> exit_reason;   // why the backend lost it, if it was lost
  bool cancelled = false;                   // terminate()/kill(): its loss is expected, not shown
  std::shared_ptr<SentinelState> sentinel;  // set by start(); for connection::wait
  std::atomic<long long> sentinel_number{0};
  InvocationRecord record;  // EXPORT_EXECUTION_DETAILS
};

namespace {

std::mutex g_identity_mutex;
ProcessInfo g_self{"MainProcess", static_cast<long long>(::getpid()), false, "", new_authkey()};
std::optional<ProcessInfo> g_parent;
std::atomic<int> g_process_counter{0};

// Started children of this process, for active_children() and the exit handler.
std::mutex g_children_mutex;
std::list<std::shared_ptr<ProcessState>> g_children;

void forget_child(const std::shared_ptr<ProcessState>& s) {
  std::lock_guard lock(g_children_mutex);
  g_children.remove(s);
}

bool parse_exit(ProcessState& s, const std::string& record) {
  auto v = json::parse(record).as_object();
  s.exitcode = static_cast<int>(v.at("exitcode").to_number<long long>());
  if (auto* r = v.if_contains("reason"); r && r->is_string()) {
    // Only a loss carries a reason (the worker's own report has none). As CPython shows a dead
    // child's traceback on stderr, the driver shows why it lost the process, unless it asked.
    s.exit_reason = std::string(r->as_string());
    if (!s.cancelled) {
      std::fflush(stdout);
      std::fprintf(stderr, "lithops: Process %s (%s) was lost, %s: %s\n", s.name.c_str(),
                   s.id.c_str(), describe_status(*s.exitcode).c_str(), s.exit_reason->c_str());
    }
  }
  if (auto* t = v.if_contains("started")) {
    s.record.received = now_us();
    s.record.delivered = v.at("delivered").to_number<std::int64_t>();
    s.record.started = t->to_number<std::int64_t>();
    s.record.finished = v.at("finished").to_number<std::int64_t>();
    if (parameters().export_execution_details) Runtime::get().record_process(s.record);
  }
  return true;
}

// Takes the exit record if it is there (timeout 0) or waits for it; caller holds s.mutex.
bool wait_exit(ProcessState& s, Timeout timeout) {
  if (s.exitcode) return true;
  if (!s.started) return false;
  auto& rt = Runtime::get();
  auto record = rt.store().blpop(s.result_key, timeout);
  if (!record) return false;
  parse_exit(s, *record);
  if (s.sentinel) s.sentinel->ended = true;
  rt.unwatch(s.id);
  // The worker reported before it told the backend it is free: wait for that too (briefly), so a
  // Process started right after join() finds this warm worker instead of a cold start.
  rt.executor().wait_released(s.id, std::chrono::seconds(2));
  rt.sync_output();  // its output is printed before join() returns, as with a local child
  return true;
}

void check_open(const ProcessState& s) {
  if (s.closed) throw ValueError("process object is closed");
}

}  // namespace

std::string describe_status(int status) {
  if (status >= 0) return "exit code " + std::to_string(status);
  const char* abbrev = sigabbrev_np(-status);
  return "signal " + std::to_string(-status) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
}

void set_current_process(ProcessInfo self, std::optional<ProcessInfo> parent) {
  std::lock_guard lock(g_identity_mutex);
  g_self = std::move(self);
  g_parent = std::move(parent);
}

json::object to_json(const ProcessInfo& info) {
  json::object o{{"name", info.name},
                 {"daemon", info.daemon},
                 {"ident", info.ident},
                 {"authkey", info.authkey}};
  if (info.pid) o["pid"] = *info.pid;
  return o;
}

ProcessInfo process_info_from_json(const json::object& o) {
  ProcessInfo info;
  info.name = o.at("name").as_string();
  info.daemon = o.at("daemon").as_bool();
  info.ident = o.at("ident").as_string();
  if (auto* p = o.if_contains("pid"); p && p->is_int64()) info.pid = p->as_int64();
  if (auto* k = o.if_contains("authkey"); k && k->is_string()) info.authkey = k->as_string();
  return info;
}

void finalize_children() {
  std::list<std::shared_ptr<ProcessState>> children;
  {
    std::lock_guard lock(g_children_mutex);
    children.swap(g_children);
  }
  for (auto& c : children) {
    std::lock_guard lock(c->mutex);
    try {
      if (c->daemon && !c->exitcode) {
        c->cancelled = true;
        Runtime::get().executor().cancel(c->id, SIGTERM);
      }
      wait_exit(*c, std::nullopt);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: while ending %s at exit: %s\n", c->name.c_str(), e.what());
    }
  }
}

}  // namespace detail

using detail::ProcessState;

void Process::init(ProcessOptions options, const std::string& function, json::value args) {
  state_ = std::make_shared<ProcessState>();
  state_->name = options.name.empty() ? "Process-" + std::to_string(++detail::g_process_counter)
                                      : std::move(options.name);
  state_->daemon = options.daemon.value_or(current_process().daemon);
  state_->function = function;
  state_->args = std::move(args);
}

Process::Process(Process&&) noexcept = default;
Process& Process::operator=(Process&&) noexcept = default;
Process::~Process() = default;

void Process::start() {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  detail::check_open(s);
  if (s.started) throw ProcessError("cannot start a process twice (" + s.name + ")");
  auto& rt = detail::Runtime::get();
  s.id = rt.new_id();
  s.result_key = rt.prefix() + "proc:" + s.id;
  json::object payload{{"kind", "process"},
                       {"context", rt.worker_context()},
                       {"id", s.id},
                       {"self", detail::to_json(ProcessInfo{s.name, std::nullopt, s.daemon, s.id,
                                                            current_process().authkey})},
                       {"parent", detail::to_json(current_process())},
                       {"function", s.function},
                       {"args", s.args},
                       {"result_key", s.result_key},
                       {"env", detail::parameters().env_vars}};
  if (detail::parameters().stream_stdout) payload["stream"] = rt.output_channel();
  const std::string key = s.result_key;
  const std::string expiry = rt.store().expiry_text();
  const std::string ended = detail::ended_key(rt, s.id);
  // The executor outlives no store: it is stopped before the store in Runtime::stop().
  detail::Store* store = &rt.store();
  rt.watch(
      s.id,
      [store, key, ended, expiry](int status, const std::string& reason) {
        std::vector<sdk::Command> cmds{
            {"RPUSH", key, json::serialize(json::object{{"exitcode", status}, {"reason", reason}})},
            {"EXPIRE", key, expiry},
            {"MULTI"},
            {"RPUSH", ended, "1"},
            {"EXPIRE", ended, expiry},
            {"EXEC"}};
        store->pipeline(cmds);
      },
      // The worker's exit report and the "ended" element travel in one pipeline (worker.cpp).
      [store, ended] {
        return store->run({"EXISTS", ended}).integer > 0;
      });
  s.record.kind = "process";
  s.record.name = s.name;
  s.record.submitted = detail::now_us();
  try {
    auto info = rt.invoke(s.id, json::serialize(payload));
    s.pid = info.pid;
    s.record.worker = info.worker_id;
    s.record.cold = info.cold_start;
  } catch (...) {
    rt.unwatch(s.id);
    throw;
  }
  s.started = true;
  s.sentinel = std::make_shared<detail::SentinelState>(s.result_key);
  s.sentinel_number = detail::register_sentinel(s.sentinel);
  s.args = nullptr;  // not needed any more; don't keep large arguments alive
  std::lock_guard children(detail::g_children_mutex);
  detail::g_children.push_back(state_);
}

void Process::join() { join_for(detail::Duration::max()); }

bool Process::join_for(detail::Duration timeout) {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  detail::check_open(s);
  if (!s.started) throw ProcessError("can only join a started process (" + s.name + ")");
  detail::Timeout t;
  if (timeout != detail::Duration::max()) t = timeout;
  bool done = detail::wait_exit(s, t);
  if (done) detail::forget_child(state_);
  return done;
}

bool Process::is_alive() {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  detail::check_open(s);
  if (!s.started) return false;
  bool done = detail::wait_exit(s, detail::Duration::zero());
  if (done) detail::forget_child(state_);
  return !done;
}

std::optional<int> Process::exitcode() {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  detail::check_open(s);
  if (s.started && !s.exitcode) detail::wait_exit(s, detail::Duration::zero());
  return s.exitcode;
}

void Process::terminate() {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  detail::check_open(s);
  if (s.started && !s.exitcode) {
    s.cancelled = true;
    detail::Runtime::get().executor().cancel(s.id, SIGTERM);
  }
}

void Process::kill() {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  detail::check_open(s);
  if (s.started && !s.exitcode) {
    s.cancelled = true;
    detail::Runtime::get().executor().cancel(s.id, SIGKILL);
  }
}

void Process::close() {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  if (s.closed) return;
  if (s.started && !s.exitcode) {
    if (!detail::wait_exit(s, detail::Duration::zero())) {
      throw ValueError("cannot close a process while it is still running; join it first");
    }
  }
  if (s.started) {
    try {
      auto& rt = detail::Runtime::get();
      rt.store().run({"DEL", s.result_key, detail::ended_key(rt, s.id)});
    } catch (const std::exception&) {
      // The key expires on its own; closing must not fail for that.
    }
  }
  s.closed = true;
  detail::forget_child(state_);
}

const std::string& Process::name() const { return state_->name; }
void Process::set_name(std::string name) { state_->name = std::move(name); }
bool Process::daemon() const { return state_->daemon; }
void Process::set_daemon(bool daemon) {
  if (state_->started) throw ValueError("cannot set daemon after start()");
  state_->daemon = daemon;
}
std::optional<long long> Process::pid() const { return state_->pid; }

std::optional<std::string> Process::exit_reason() {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  detail::check_open(s);
  if (s.started && !s.exitcode) detail::wait_exit(s, detail::Duration::zero());
  return s.exit_reason;
}
const std::string& Process::ident() const { return state_->id; }

long long Process::sentinel() const {
  // Not under state_->mutex: join() may hold it while it waits.
  if (state_->closed) throw ValueError("process object is closed");
  const long long number = state_->sentinel_number;
  if (number == 0) throw ValueError("process not started (" + state_->name + ")");
  return number;
}

ProcessInfo current_process() {
  std::lock_guard lock(detail::g_identity_mutex);
  return detail::g_self;
}

std::optional<ProcessInfo> parent_process() {
  std::lock_guard lock(detail::g_identity_mutex);
  return detail::g_parent;
}

std::vector<ProcessInfo> active_children() {
  std::list<std::shared_ptr<ProcessState>> children;
  {
    std::lock_guard lock(detail::g_children_mutex);
    children = detail::g_children;
  }
  std::vector<ProcessInfo> out;
  for (auto& c : children) {
    std::lock_guard lock(c->mutex);
    if (detail::wait_exit(*c, detail::Duration::zero())) {
      detail::forget_child(c);
      continue;
    }
    out.push_back(ProcessInfo{c->name, c->pid, c->daemon, c->id, current_process().authkey});
  }
  return out;
}

int cpu_count() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace lithops::multiprocessing
