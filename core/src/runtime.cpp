#include "runtime.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <boost/json.hpp>

#include "config_internal.hpp"
#include "embedded_redis.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "liveness.hpp"
#include "output_stream.hpp"
#include "plugin_loader.hpp"
#include "process_internal.hpp"
#include "proxy_internal.hpp"

namespace lithops::multiprocessing::detail {
namespace json = boost::json;

namespace {
std::mutex g_mutex;
Runtime* g_runtime = nullptr;  // owned; released by Runtime::shutdown()
bool g_atexit_registered = false;

std::string random_hex(std::size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* digits = "0123456789abcdef";
  std::string s(n, '0');
  for (auto& c : s) c = digits[rng() & 15];
  return s;
}

std::string string_at(const json::object& o, const char* section, const char* key,
                      const char* fallback) {
  auto* s = o.if_contains(section);
  if (!s || !s->is_object()) return fallback;
  auto* v = s->as_object().if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string(fallback);
}

const json::object& section_of(const json::object& config, const std::string& name) {
  static const json::object empty;
  auto* s = config.if_contains(name);
  return s && s->is_object() ? s->as_object() : empty;
}

// lithops.lost_grace_period (seconds, default 5): refused when negative or not a number.
std::chrono::milliseconds grace_period_of(const json::object& config) {
  const auto& l = section_of(config, "lithops");
  const auto* v = l.if_contains("lost_grace_period");
  if (v == nullptr || v->is_null()) return std::chrono::milliseconds(5000);
  if (!v->is_number() || v->to_number<double>() < 0 || v->to_number<double>() > 3600) {
    throw ConfigError(
        "'lithops.lost_grace_period' must be a number of seconds from 0 to 3600, "
        "got " +
        json::serialize(*v));
  }
  return std::chrono::milliseconds(static_cast<long long>(v->to_number<double>() * 1000));
}

long long liveness_ttl(const json::object& config) {
  const auto* l = config.if_contains("lithops");
  const auto* v = l && l->is_object() ? l->as_object().if_contains("liveness_ttl") : nullptr;
  if (!v || !v->is_number()) return kDefaultLivenessTtl;
  const auto ttl = v->to_number<long long>();
  if (ttl < 3) {
    throw ConfigError("lithops.liveness_ttl is " + std::to_string(ttl) +
                      " s; it must be at least 3 (the key is refreshed every ttl/3 s)");
  }
  return ttl;
}

// The liveness key's value: what `lithops sessions` shows about a live session.
std::string liveness_info(const json::object& config) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return json::serialize(
      json::object{{"started", now.count()},
                   {"host", host},
                   {"pid", static_cast<long long>(::getpid())},
                   {"backend", string_at(config, "lithops", "backend", "localhost")}});
}

void register_atexit() {
  if (g_atexit_registered) return;
  g_atexit_registered = true;
  std::atexit([] { Runtime::shutdown(); });
}
}  // namespace

Runtime::Runtime(json::object config, std::string prefix, bool driver, long long expiry)
    : config_(std::move(config)), prefix_(std::move(prefix)), driver_(driver) {
  id_base_ = random_hex(8);
  grace_ = grace_period_of(config_);
  if (driver_ && !config_.contains("redis")) {
    embedded_redis_ = EmbeddedRedis::start();
    config_["redis"] = embedded_redis_->redis_config();
  }
  store_plugin_ = string_at(config_, "lithops", "state_store", "redis");
  sdk::PluginContext ctx;
  ctx.config = &config_;
  ctx.section = &section_of(config_, store_plugin_);
  ctx.key_prefix = prefix_;
  ctx.expiry_seconds = expiry;
  store_ = std::make_unique<Store>(create_state_store(store_plugin_, ctx), expiry);
  if (driver_) {
    liveness_ = std::make_unique<Liveness>(*store_, liveness_key(prefix_), liveness_info(config_),
                                           liveness_ttl(config_));
  }
  worker_context_ = {{"config", config_}, {"prefix", prefix_}, {"expiry", expiry}};
}

Runtime::~Runtime() { stop(); }

void Runtime::record_process(InvocationRecord record) {
  std::lock_guard lock(records_mutex_);
  process_records_.push_back(std::move(record));
}

void Runtime::stop() {
  if (auto dir = parameters().export_execution_details; dir && !process_records_.empty()) {
    try {
      write_execution_details(*dir, "processes-" + id_base_, "Processes",
                              std::move(process_records_));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: could not write execution details to %s: %s\n", dir->c_str(),
                   e.what());
    }
  }
  bool had_workers = false;
  {
    std::lock_guard lock(executor_mutex_);
    had_workers = executor_ != nullptr;
    executor_.reset();  // stops this process's workers
  }
  stop_grace_thread();  // before the store its checks use
  {
    std::lock_guard lock(output_mutex_);
    output_.reset();  // prints what is still in flight first
  }
  if (driver_ && store_) {
    try {
      shm_session_end(*this, had_workers);  // the resource tracker's job (SM-10)
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: could not clean up tracked shared memory: %s\n", e.what());
    }
  }
  liveness_.reset();  // the session ends cleanly: its key goes last
  store_.reset();
  embedded_redis_.reset();
}

Runtime& Runtime::get() {
  std::lock_guard lock(g_mutex);
  if (!g_runtime) {
    g_runtime = new Runtime(effective_config(), "lithops:" + random_hex(12) + ":", true,
                            parameters().redis_expiry_time);
    register_atexit();
  }
  return *g_runtime;
}

Runtime& Runtime::for_worker(const json::object& context) {
  std::unique_lock lock(g_mutex);
  const auto& prefix = context.at("prefix").as_string();
  if (g_runtime && g_runtime->prefix_ == prefix) return *g_runtime;
  Runtime* old = g_runtime;
  g_runtime = nullptr;
  lock.unlock();
  delete old;  // a warm worker serving another session: start afresh
  auto* fresh = new Runtime(context.at("config").as_object(), std::string(prefix), false,
                            context.at("expiry").to_number<long long>());
  lock.lock();
  g_runtime = fresh;
  register_atexit();
  return *g_runtime;
}

Runtime* Runtime::current() {
  std::lock_guard lock(g_mutex);
  return g_runtime;
}

void Runtime::shutdown() {
  // Pools still alive (held by globals that are destroyed after this) end before the runtime
  // they use goes away (PO-31); their destructors then have nothing left to do.
  terminate_live_pools();
  finalize_children();
  Runtime* r;
  {
    std::lock_guard lock(g_mutex);
    r = g_runtime;
    g_runtime = nullptr;
  }
  delete r;
}

sdk::Executor& Runtime::executor() {
  std::lock_guard lock(executor_mutex_);
  if (!executor_) {
    const std::string backend = string_at(config_, "lithops", "backend", "localhost");
    sdk::PluginContext ctx;
    ctx.config = &config_;
    ctx.section = &section_of(config_, backend);
    ctx.store = &store_->raw();
    ctx.key_prefix = prefix_;
    ctx.expiry_seconds = store_->expiry();
    executor_ = create_executor(backend, ctx);
    executor_->set_listener(this);
  }
  return *executor_;
}

std::optional<long long> Runtime::embedded_redis_pid() const {
  if (!embedded_redis_) return std::nullopt;
  return static_cast<long long>(embedded_redis_->pid());
}

sdk::InvocationInfo Runtime::invoke(const std::string& id, std::string payload) {
  auto& ex = executor();
  const std::size_t limit = ex.max_payload_bytes();
  if (limit != 0 && payload.size() > limit) {
    const std::string key = prefix_ + "payload:" + id;
    store_->run({"SET", key, payload, "EX", store_->expiry_text()});
    payload =
        json::serialize(json::object{{"kind", "ref"}, {"key", key}, {"context", worker_context_}});
    if (payload.size() > limit) {
      throw ValueError("the " + string_at(config_, "lithops", "backend", "localhost") +
                       " backend accepts payloads of at most " + std::to_string(limit) +
                       " bytes, and even the reference to this one is larger");
    }
  }
  return ex.invoke({id, std::move(payload)});
}

const std::string& Runtime::output_channel() {
  std::lock_guard lock(output_mutex_);
  if (!output_) {
    output_channel_ = prefix_ + "output";
    output_ = std::make_unique<OutputPrinter>(store_->raw(), *store_, output_channel_);
  }
  return output_channel_;
}

void Runtime::sync_output() {
  OutputPrinter* printer;
  {
    std::lock_guard lock(output_mutex_);
    printer = output_.get();
  }
  if (printer) printer->sync();
}

std::string Runtime::new_id() { return id_base_ + "-" + std::to_string(++counter_); }

void Runtime::watch(const std::string& id, LossHandler handler, ReportedCheck reported) {
  std::lock_guard lock(watch_mutex_);
  watchers_[id] = {std::move(handler), std::move(reported)};
}

void Runtime::unwatch(const std::string& id) {
  std::lock_guard lock(watch_mutex_);
  watchers_.erase(id);
}

void Runtime::on_invocation_lost(const std::string& id, int status, const std::string& reason) {
  LossHandler handler;
  {
    std::lock_guard lock(watch_mutex_);
    auto it = watchers_.find(id);
    if (it == watchers_.end()) return;
    handler = std::move(it->second.handler);
    watchers_.erase(it);
  }
  try {
    handler(status, reason);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lithops: could not report lost invocation %s: %s\n", id.c_str(),
                 e.what());
  }
}

void Runtime::on_invocation_ended(const std::string& id) {
  {
    std::lock_guard lock(watch_mutex_);
    if (!watchers_.contains(id)) return;  // its exit report was taken already
  }
  std::lock_guard lock(grace_mutex_);
  if (grace_stopping_) return;
  if (!grace_thread_.joinable()) grace_thread_ = std::thread([this] { grace_loop(); });
  grace_queue_.emplace(std::chrono::steady_clock::now() + grace_, id);
  grace_cv_.notify_one();
}

void Runtime::grace_loop() {
  std::unique_lock lock(grace_mutex_);
  while (!grace_stopping_) {
    if (grace_queue_.empty()) {
      grace_cv_.wait(lock);
      continue;
    }
    const auto first = grace_queue_.begin();
    if (first->first > std::chrono::steady_clock::now()) {
      grace_cv_.wait_until(lock, first->first);
      continue;
    }
    const std::string id = first->second;
    grace_queue_.erase(first);
    lock.unlock();
    check_ended(id);
    lock.lock();
  }
}

void Runtime::check_ended(const std::string& id) {
  ReportedCheck reported;
  {
    std::lock_guard lock(watch_mutex_);
    auto it = watchers_.find(id);
    if (it == watchers_.end()) return;
    reported = it->second.reported;
  }
  try {
    if (reported && reported()) {
      unwatch(id);  // the invocation is over and reported: nothing can be lost any more
      return;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lithops: could not check the exit report of invocation %s: %s\n",
                 id.c_str(), e.what());
    return;
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3g", static_cast<double>(grace_.count()) / 1000.0);
  on_invocation_lost(
      id, 1,
      "the " + string_at(config_, "lithops", "backend", "localhost") + " backend reported " +
          "invocation " + id + " ended without an error, but its worker sent no exit report " +
          "within " + seconds + " s (lithops.lost_grace_period): the function's runtime " +
          "probably crashed or exited before reporting; look at the function's logs");
}

void Runtime::stop_grace_thread() {
  {
    std::lock_guard lock(grace_mutex_);
    grace_stopping_ = true;
    grace_queue_.clear();
  }
  grace_cv_.notify_all();
  if (grace_thread_.joinable()) grace_thread_.join();
}

}  // namespace lithops::multiprocessing::detail
