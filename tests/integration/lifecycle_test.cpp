// Nothing outlives the driver: workers and the private redis-server go with it, whether it
// returns from main, is interrupted, or is SIGKILLed.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include <lithops/multiprocessing.hpp>

#include "runtime.hpp"
#include "scenario.hpp"

namespace mp = lithops::multiprocessing;

namespace {
void nap(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

struct Pids {
  long long worker = -1, daemon_worker = -1, redis = -1;
};
Pids parse(const std::string& line) {
  Pids p;
  std::sscanf(line.c_str(), "worker=%lld daemon=%lld redis=%lld", &p.worker, &p.daemon_worker,
              &p.redis);
  return p;
}
}  // namespace
LITHOPS_FUNCTION(nap);

// A driver with a running child, a daemonic child and the private redis-server, which prints their
// pids and then either returns (args[0] == "return") or waits to be killed.
LITHOPS_SCENARIO(driver_with_children) {
  mp::Process child(nap, args.at(0) == "return" ? 300 : 60000);
  child.start();
  mp::Process daemon(mp::ProcessOptions{.name = "", .daemon = true}, nap, 60000);
  daemon.start();
  auto redis = mp::detail::Runtime::get().embedded_redis_pid();
  std::printf("worker=%lld daemon=%lld redis=%lld\n", child.pid().value_or(-1),
              daemon.pid().value_or(-1), redis.value_or(-1));
  std::fflush(stdout);
  if (args.at(0) == "return") return 0;  // the non-daemonic child is joined at exit
  std::this_thread::sleep_for(std::chrono::seconds(120));
  return 3;
}

TEST(Lifecycle, NothingOutlivesADriverThatReturns) {
  auto run = lithops::test::start_scenario("driver_with_children", {"return"});
  auto pids = parse(run.first_line);
  ASSERT_GT(pids.worker, 0) << run.first_line;
  ASSERT_GT(pids.daemon_worker, 0) << run.first_line;
  ASSERT_GT(pids.redis, 0) << run.first_line;
  EXPECT_EQ(lithops::test::wait_scenario(run, 30), 0);
  EXPECT_TRUE(lithops::test::pid_gone_within(pids.worker, 5));
  EXPECT_TRUE(lithops::test::pid_gone_within(pids.daemon_worker, 5));
  EXPECT_TRUE(lithops::test::pid_gone_within(pids.redis, 5));
}

class LifecycleSignal : public testing::TestWithParam<int> {};

TEST_P(LifecycleSignal, NothingOutlivesAKilledDriver) {
  auto run = lithops::test::start_scenario("driver_with_children", {"wait"});
  auto pids = parse(run.first_line);
  ASSERT_GT(pids.worker, 0) << run.first_line;
  ASSERT_GT(pids.redis, 0) << run.first_line;
  ::kill(static_cast<pid_t>(run.pid), GetParam());
  EXPECT_EQ(lithops::test::wait_scenario(run, 10), -GetParam());
  EXPECT_TRUE(lithops::test::pid_gone_within(pids.worker, 5)) << "worker " << pids.worker;
  EXPECT_TRUE(lithops::test::pid_gone_within(pids.daemon_worker, 5));
  EXPECT_TRUE(lithops::test::pid_gone_within(pids.redis, 5)) << "redis " << pids.redis;
}

INSTANTIATE_TEST_SUITE_P(Signals, LifecycleSignal, testing::Values(SIGKILL, SIGTERM, SIGINT),
                         [](const testing::TestParamInfo<int>& param) {
                           return std::string(sigabbrev_np(param.param));
                         });
