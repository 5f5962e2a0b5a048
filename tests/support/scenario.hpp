// Scenarios: a test binary run as a separate driver program (`<binary> --scenario=NAME args...`),
// for what must be observed from outside a process: its exit, its stderr, being SIGKILLed.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace lithops::test {

using Scenario = int (*)(const std::vector<std::string>& args);

// Registers a scenario at static-initialisation time.
struct ScenarioRegistrar {
  ScenarioRegistrar(const char* name, Scenario fn);
};

// Runs the scenario named by --scenario=NAME and returns its exit code; -1 if none was asked.
int run_scenario_if_requested(int argc, char** argv);

// Runs this test binary with --scenario=name and args; returns its exit status and, with
// `output`, everything it wrote to stdout and stderr.
struct ScenarioRun {
  int status = -1;  // exit code, or -signal
  std::string output;
  long long pid = -1;
};
ScenarioRun run_scenario(const std::string& name, const std::vector<std::string>& args = {},
                         int timeout_seconds = 60);

// Starts the scenario and returns once it printed a line; the caller then kills or waits it.
struct RunningScenario {
  long long pid = -1;
  int out_fd = -1;
  std::string first_line;
};
RunningScenario start_scenario(const std::string& name, const std::vector<std::string>& args = {});
int wait_scenario(RunningScenario& r, int timeout_seconds);

// True when `pid` no longer exists (or is a zombie of someone else), waiting up to `seconds`.
bool pid_gone_within(long long pid, double seconds);

}  // namespace lithops::test

#define LITHOPS_SCENARIO(name)                                                                 \
  static int scenario_##name(const std::vector<std::string>& args);                            \
  static const ::lithops::test::ScenarioRegistrar scenario_registrar_##name{#name,             \
                                                                            &scenario_##name}; \
  static int scenario_##name([[maybe_unused]] const std::vector<std::string>& args)
