// Worker processes' lives: prewarming, idle reaping, max_workers, environment and descriptors,
// and that no worker outlives its executor or its driver.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "lithops/sdk/errors.hpp"
#include "process_probe.hpp"
#include "test_support.hpp"

namespace lithops::localhost::test {
namespace {

TEST(LocalExecutorLifecycle, DestructorLeavesNoWorkerBehind) {
  RecordingListener listener;
  TempDir dir;
  std::vector<pid_t> pids;
  auto executor = make_executor("{}", &listener);
  for (int i = 0; i < 3; ++i) {
    pids.push_back(
        static_cast<pid_t>(*executor->invoke({"busy" + std::to_string(i), "sleep 60000"}).pid));
  }
  // One that ignores SIGTERM must be SIGKILLed after the grace period.
  pids.push_back(static_cast<pid_t>(*executor->invoke({"stubborn", "ignoreterm 60000"}).pid));
  pids.push_back(static_cast<pid_t>(*executor->invoke({"idle", "noop"}).pid));
  ASSERT_TRUE(wait_until([&] { return executor->running() == 4; }));
  ASSERT_TRUE(wait_until([&] { return lithops::test::signal_ignored(pids[3], SIGTERM); }))
      << "\"ignoreterm\" never ignored SIGTERM";

  const auto start = std::chrono::steady_clock::now();
  executor.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  for (const pid_t pid : pids) EXPECT_TRUE(process_gone_within(pid, 2s)) << pid;
  // Killed busy invocations are reported, so nobody waits for them forever.
  EXPECT_EQ(listener.wait_for("busy0", 0ms)->status, -SIGTERM);
  EXPECT_EQ(listener.wait_for("stubborn", 0ms)->status, -SIGKILL);
  EXPECT_FALSE(listener.wait_for("idle", 0ms).has_value());
}

TEST(LocalExecutorLifecycle, WorkersDieWhenTheDriverIsKilled) {
  // Orphans are reparented to us, so we can see how the worker died even if init never reaps.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int report[2];
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  const pid_t driver = ::fork();
  ASSERT_GE(driver, 0);
  if (driver == 0) {
    ::alarm(60);  // never outlive a broken test
    RecordingListener listener;
    auto executor = make_executor("{}", &listener);
    const long long pid = *executor->invoke({"long", "sleep 60000"}).pid;
    [[maybe_unused]] const ssize_t n = ::write(report[1], &pid, sizeof pid);
    for (;;) ::pause();
  }
  ::close(report[1]);
  long long worker = 0;
  pollfd readable{report[0], POLLIN, 0};
  ASSERT_EQ(::poll(&readable, 1, 10'000), 1);
  ASSERT_EQ(::read(report[0], &worker, sizeof worker), static_cast<ssize_t>(sizeof worker));
  ::close(report[0]);

  ::kill(driver, SIGKILL);
  ASSERT_EQ(::waitpid(driver, nullptr, 0), driver);
  int status = 0;
  const bool reaped = wait_until(
      [&] { return ::waitpid(static_cast<pid_t>(worker), &status, WNOHANG) == worker; }, 5s);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  if (!reaped) ::kill(static_cast<pid_t>(worker), SIGKILL);
  ASSERT_TRUE(reaped) << "worker " << worker << " survived its driver";
  // Killed by PDEATHSIG, or, if the driver died between fork and prctl, the worker saw its parent
  // gone and left with 127 before exec: either way it did not outlive the driver.
  EXPECT_TRUE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
              (WIFEXITED(status) && WEXITSTATUS(status) == 127))
      << status;
}

TEST(LocalExecutorLifecycle, WorkersOutliveTheThreadThatInvoked) {
  // PR_SET_PDEATHSIG fires when the forking *thread* exits: a short-lived caller must not matter.
  RecordingListener listener;
  TempDir dir;
  auto executor = make_executor("{}", &listener);
  std::thread([&] { executor->invoke({"t", "sleep 300"}); }).join();
  std::thread([&] { executor->invoke({"u", "sleep 300"}); }).join();
  EXPECT_TRUE(wait_until([&] { return executor->running() == 0; }));
  EXPECT_TRUE(listener.all().empty());
}

TEST(LocalExecutorLifecycle, ReapsIdleWorkersAfterIdleTimeout) {
  RecordingListener listener;
  auto executor = make_executor(R"({"idle_timeout": 1})", &listener);
  const auto first = executor->invoke({"a", "noop"});
  ASSERT_TRUE(wait_until([&] { return executor->running() == 0; }));
  EXPECT_TRUE(process_gone_within(static_cast<pid_t>(*first.pid), 3s));
  const auto second = executor->invoke({"b", "noop"});
  EXPECT_TRUE(second.cold_start);
  EXPECT_TRUE(listener.all().empty());
}

TEST(LocalExecutorLifecycle, KeepsWarmWorkersWithinIdleTimeout) {
  RecordingListener listener, clock_listener;
  auto executor = make_executor(R"({"idle_timeout": 30})", &listener);
  // The clock: an executor with a 1 s idle timeout whose worker went idle after ours did. Once
  // that worker is gone, ours has been idle for more than 1 s too (no sleep needed).
  auto clock = make_executor(R"({"idle_timeout": 1})", &clock_listener);
  const auto first = executor->invoke({"a", "noop"});
  ASSERT_TRUE(wait_until([&] { return executor->running() == 0; }));
  const auto tick = clock->invoke({"t", "noop"});
  ASSERT_TRUE(wait_until([&] { return clock->running() == 0; }));
  ASSERT_TRUE(process_gone_within(static_cast<pid_t>(*tick.pid), 10s));
  EXPECT_TRUE(process_exists(static_cast<pid_t>(*first.pid)));
  EXPECT_FALSE(executor->invoke({"b", "noop"}).cold_start);
}

TEST(LocalExecutorLifecycle, PrewarmedWorkersServeFirstInvocationsWarm) {
  RecordingListener listener;
  auto executor = make_executor(R"({"prewarm": 2})", &listener);
  std::set<long long> pids;
  for (const char* id : {"a", "b"}) {
    const auto info = executor->invoke({id, "sleep 200"});
    EXPECT_FALSE(info.cold_start) << id;
    pids.insert(*info.pid);
  }
  EXPECT_EQ(pids.size(), 2u);
  EXPECT_TRUE(executor->invoke({"c", "noop"}).cold_start);
}

TEST(LocalExecutorLifecycle, MaxWorkersBoundsConcurrentInvocations) {
  RecordingListener listener;
  auto executor = make_executor(R"({"max_workers": 2})", &listener);
  executor->invoke({"a", "sleep 60000"});
  executor->invoke({"b", "sleep 60000"});
  try {
    executor->invoke({"c", "noop"});
    ADD_FAILURE() << "a third concurrent invocation was accepted";
  } catch (const sdk::PluginError& e) {
    EXPECT_NE(std::string(e.what()).find("max_workers"), std::string::npos) << e.what();
  }
  EXPECT_EQ(executor->running(), 2u);
  ASSERT_TRUE(executor->cancel("a", SIGKILL));
  ASSERT_TRUE(listener.wait_for("a").has_value());
  EXPECT_NO_THROW(executor->invoke({"c", "noop"}));
}

TEST(LocalExecutorLifecycle, WorkerGetsConfiguredEnvironment) {
  RecordingListener listener;
  TempDir dir;
  auto executor =
      make_executor(R"({"worker_env": {"LITHOPS_TEST_GREETING": "hi there"}})", &listener);
  executor->invoke({"a", "env LITHOPS_TEST_GREETING " + dir.file("greeting")});
  executor->invoke({"b", "env LITHOPS_WORKER_BACKEND " + dir.file("backend")});
  EXPECT_EQ(read_file_within(dir.file("greeting")), "hi there");
  EXPECT_EQ(read_file_within(dir.file("backend")), "localhost");
}

TEST(LocalExecutorLifecycle, WorkerHoldsOnlyStdioAndItsProtocolDescriptors) {
  RecordingListener listener;
  TempDir dir;
  // A descriptor the program leaked without O_CLOEXEC must not reach the worker.
  const int leaked = ::dup(STDERR_FILENO);
  auto executor = make_executor("{}", &listener);
  executor->invoke({"a", "fds " + dir.file("fds")});
  const auto fds = read_file_within(dir.file("fds"));
  ::close(leaked);
  EXPECT_EQ(fds, "0 1 2 3 4 ");
}

}  // namespace
}  // namespace lithops::localhost::test
