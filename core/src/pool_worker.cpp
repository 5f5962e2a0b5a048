// The worker side of a Pool: run the initializer, then take task chunks until told to stop.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <span>

#include <boost/json.hpp>

#include "execution_details.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/registry.hpp"
#include "output_stream.hpp"
#include "pool_internal.hpp"
#include "process_internal.hpp"
#include "remote_error.hpp"
#include "runtime.hpp"
#include "worker.hpp"

namespace lithops::multiprocessing::detail {
namespace json = boost::json;

namespace {

// Makes sure the in-progress list exists (holding the marker) and has the session's expiry.
constexpr const char* kEnsureWip =
    "if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('RPUSH', KEYS[1], ARGV[1]) end "
    "redis.call('EXPIRE', KEYS[1], ARGV[2]) return 1";

// Runs one chunk and returns its result record: {"job","start","ok":[...]} or {"job","error"}.
std::string run_chunk(const std::string& message, std::int64_t delivered) {
  auto task = json::parse(message).as_object();
  json::object record{{"job", task.at("job")},
                      {"start", task.at("start")},
                      {"submitted", task.at("submitted")},
                      {"delivered", delivered},
                      {"started", now_us()},
                      {"worker", std::to_string(::getpid())}};
  const auto start = task.at("start").to_number<long long>();
  long long index = start;
  try {
    auto fn = find_function(std::string(task.at("function").as_string()));
    json::array results;
    for (const auto& args : task.at("args").as_array()) {
      results.push_back(fn.invoker(fn.fn, args));
      ++index;
    }
    record["ok"] = std::move(results);
  } catch (...) {
    auto error = capture_current_exception();
    error.task = index;
    record["error"] = to_json(error);
  }
  record["finished"] = now_us();
  return json::serialize(record);
}

}  // namespace

void run_pool_worker(const json::object& payload) {
  auto& rt = Runtime::for_worker(payload.at("context").as_object());
  auto self = process_info_from_json(payload.at("self").as_object());
  self.pid = static_cast<long long>(::getpid());
  auto parent = process_info_from_json(payload.at("parent").as_object());
  self.authkey = parent.authkey;
  set_current_process(self, std::move(parent));
  apply_env(payload);

  const auto& pool = payload.at("pool").as_object();
  const std::string id(payload.at("id").as_string());
  const std::string tasks(pool.at("tasks").as_string());
  const std::string results(pool.at("results").as_string());
  const std::string wip(pool.at("wip").as_string());
  const std::string alive(pool.at("alive").as_string());
  const long long maxtasks = pool.at("maxtasks").to_number<long long>();
  const std::string expiry = rt.store().expiry_text();
  auto& store = rt.store();

  std::optional<OutputCapture> capture;
  if (auto* channel = payload.if_contains("stream")) {
    capture.emplace(rt.store(), std::string(channel->as_string()), self.name);
  }
  auto report_exit = [&](json::object record) {
    // Threads and atexit handlers its tasks or initializer left end with the worker, as in Python.
    run_end_of_process();
    capture.reset();
    record["exit"] = id;
    std::vector<sdk::Command> cmds{
        {"RPUSH", results, json::serialize(record)}, {"EXPIRE", results, expiry}, {"DEL", wip}};
    store.pipeline(cmds);
  };
  const sdk::Command ensure_wip{"EVAL", kEnsureWip, "1", wip, kWipMarker, expiry};

  if (const auto& init = pool.at("initializer").as_string(); !init.empty()) {
    try {
      auto fn = find_function(std::string(init));
      fn.invoker(fn.fn, pool.at("initargs"));
    } catch (...) {
      report_exit({{"init_error", to_json(capture_current_exception())}});
      return;
    }
  }

  long long done = 0;
  std::optional<std::string> next;
  std::string reason = "stop";
  for (;;) {
    if (maxtasks > 0 && done >= maxtasks) {
      reason = "maxtasks";
      break;
    }
    if (!next) {
      auto ensured = store.pipeline(std::span(&ensure_wip, 1));
      if (ensured.at(0).is_error()) {
        throw OSError("Pool worker could not prepare its task list: " + ensured[0].str);
      }
      auto r = store.raw().execute(
          std::vector<std::string_view>{"BLMOVE", tasks, wip, "LEFT", "RIGHT", "2"},
          std::chrono::seconds(10));
      if (r.is_error()) throw OSError("Pool worker could not take a task: " + r.str);
      if (r.is_nil()) {
        // Nothing to do for a while: stop if the pool is gone (driver ended without stopping us).
        if (store.run({"EXISTS", alive}).integer == 0) break;
        continue;
      }
      next = std::move(r.str);
    }
    std::string message = std::move(*next);
    next.reset();
    const auto taken = now_us();
    if (message == kStopSentinel) {
      store.run({"LREM", wip, "1", kStopSentinel});
      break;
    }
    const std::string record = run_chunk(message, taken);
    ++done;
    // One round trip: hand in the result, clear the task from the in-progress list, take the
    // next task (into a list that ensure_wip, first, made sure exists with its expiry).
    const bool more = maxtasks <= 0 || done < maxtasks;
    std::vector<sdk::Command> cmds{ensure_wip,
                                   {"RPUSH", results, record},
                                   {"EXPIRE", results, expiry},
                                   {"LREM", wip, "1", message}};
    if (more) cmds.push_back({"LMOVE", tasks, wip, "LEFT", "RIGHT"});
    auto replies = store.pipeline(cmds);
    for (const auto& r : replies) {
      if (r.is_error()) throw OSError("Pool worker could not report a result: " + r.str);
    }
    if (more && replies[4].type == sdk::Reply::Type::kString) next = std::move(replies[4].str);
  }
  report_exit({{"reason", reason}});
  if (reason == "maxtasks") {
    // maxtasksperchild exists to give a task a fresh process (leaks, state): don't return this
    // one to the backend's warm set. The executor reports the exit; the pool ignores it.
    std::fflush(nullptr);
    std::exit(0);
  }
}

}  // namespace lithops::multiprocessing::detail
