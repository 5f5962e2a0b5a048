// A local emulator of AWS Lambda for tests and for users without an AWS account: the Invoke API
// and the function management calls, signature-checked, and function instances started exactly as
// Lambda starts a custom runtime: the deployed zip's `bootstrap`, with AWS_LAMBDA_RUNTIME_API
// pointing at a Runtime API endpoint of its own. See docs/backends/lambda-emulator.md.
//
// All state lives on the event loop's thread (see event_loop.hpp); only zip extraction runs on a
// helper thread and posts its result back.
#pragma once

#include <sys/types.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "event_loop.hpp"

namespace lithops::emulator {

struct Options {
  std::string address = "127.0.0.1";
  unsigned short port = 0;
  std::string access_key_id;
  std::string secret_access_key;
  std::string region = "us-east-1";
  std::size_t concurrency = 1000;  // busy + starting instances at once, across all functions
  std::chrono::milliseconds idle_timeout{300'000};
  std::filesystem::path work_dir;     // where zips are unpacked; a fresh temp dir if empty
  std::vector<std::string> pass_env;  // variables of our own environment instances inherit
  bool check_signatures = true;
  // How an instance that exits during an invocation is answered: as AWS Lambda does (a
  // Runtime.ExitError function error), or as AWS's runtime interface emulator does (an empty
  // 200, no X-Amz-Function-Error: nothing says the function failed).
  enum class ExitAnswer { kLambda, kEmpty200 };
  ExitAnswer exit_answer = ExitAnswer::kLambda;
};

struct Stats {
  std::uint64_t invocations = 0;
  std::uint64_t cold_starts = 0;
  std::uint64_t warm_starts = 0;
  std::uint64_t throttled = 0;
  std::uint64_t function_errors = 0;
};

class Emulator {
 public:
  Emulator(Options options, EventLoop& loop);
  // Kills every instance and waits for them; removes the work directory if it made it.
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  unsigned short port() const { return port_; }

 private:
  struct Invocation {
    std::string request_id;
    std::string function;
    std::string payload;
    Respond respond;  // null for Event invocations
    bool delivered = false;
  };
  using InvocationPtr = std::shared_ptr<Invocation>;
  enum class State { kStarting, kIdle, kBusy };
  struct Instance {
    std::uint64_t id = 0;
    std::string function;
    int generation = 0;
    pid_t pid = -1;
    int pidfd = -1;
    int listener = -1;
    State state = State::kStarting;
    InvocationPtr current;
    Respond parked_next;  // the runtime's /next long poll while idle
    std::uint64_t timeout_timer = 0;
    std::uint64_t idle_timer = 0;
    bool retiring = false;  // finish the current invocation, then stop
    bool timed_out = false;
    // The runtime's answer to the current invocation, held until our reply to it is written.
    std::optional<std::pair<std::vector<std::pair<std::string, std::string>>, std::string>> answer;
  };
  using InstancePtr = std::shared_ptr<Instance>;
  struct Function {
    boost::json::object config;  // the FunctionConfiguration Lambda would return
    int generation = 0;          // bumped by code and configuration updates
    std::filesystem::path code_dir;
    bool extracting = false;
    std::deque<InvocationPtr> queue;  // Event invocations waiting for capacity
  };

  // emulator.cpp: routing, authentication, management API.
  void handle(Request&& request, Respond respond);
  bool authenticate(const Request& request, Respond& respond);
  void create_function(const Request& request, Respond& respond);
  void update_code(const std::string& name, const Request& request, Respond& respond);
  void update_configuration(const std::string& name, const Request& request, Respond& respond);
  void delete_function(const std::string& name, Respond& respond);
  void list_functions(const Request& request, Respond& respond);
  void extract(const std::string& name, std::string zip);
  Function* find(const std::string& name, Respond& respond);

  // instances.cpp: invocations and function instances.
  void invoke(const std::string& name, Request&& request, Respond& respond);
  void dispatch(const std::string& name);
  void dispatch_all();
  InstancePtr idle_instance(const Function& fn, const std::string& name);
  std::size_t active() const;
  void assign(const InstancePtr& instance, InvocationPtr invocation);
  void cold_start(const std::string& name, Function& fn, InvocationPtr invocation);
  void runtime_api(std::uint64_t instance, Request&& request, Respond respond);
  void deliver(const InstancePtr& instance);
  void complete(const InstancePtr& instance, int status,
                std::vector<std::pair<std::string, std::string>> headers, std::string body);
  void became_idle(const InstancePtr& instance);
  void kill_instance(const InstancePtr& instance);
  void on_exit(std::uint64_t instance);
  void retire_instances(const std::string& name);
  void fail_invocation(const InvocationPtr& invocation, const std::string& type,
                       const std::string& message);

  Options options_;
  EventLoop& loop_;
  unsigned short port_ = 0;
  bool own_work_dir_ = false;
  std::map<std::string, Function> functions_;
  std::map<std::uint64_t, InstancePtr> instances_;
  std::uint64_t next_instance_ = 0;
  std::vector<std::thread> extractors_;
  Stats stats_;
};

// Emulator-wide helpers shared by the two halves.
Response json_response(int status, const boost::json::object& body);
Response error_response(int status, const std::string& type, const std::string& message);
std::string new_request_id();

}  // namespace lithops::emulator
