// SM-10: SharedMemory track=false / track=true. The "separate Python process" of CPython's test is
// a separate driver program here (a scenario of this binary, its own session on the same Redis):
// its session end is what Python's resource tracker exit is.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <lithops/multiprocessing.hpp>

#include "../../support/scenario.hpp"
#include "runtime.hpp"

namespace mp = lithops::multiprocessing;
namespace json = boost::json;

namespace {
// The Redis this test's session uses, for the other driver.
std::string redis_config() {
  return json::serialize(mp::detail::Runtime::get().config().at("redis"));
}
}  // namespace

// args: redis config (JSON), block name, "1" to track. Attaches, closes, exits.
LITHOPS_SCENARIO(shm_attach_and_exit) {
  mp::config::set_parameter(mp::config::LITHOPS_CONFIG,
                            json::object{{"redis", json::parse(args.at(0))}});
  mp::SharedMemory mem(args.at(1), false, 0, args.at(2) == "1");
  mem.close();
  std::printf("attached %s\n", args.at(1).c_str());
  return 0;
}

// Creates a tracked block, says so, then waits to be killed.
void create_then_hang(std::string name, mp::Event created) {
  mp::SharedMemory mem(name, true, 10);
  mem.write(0, std::string_view("doomed"));
  created.set();
  ::pause();
}
LITHOPS_FUNCTION(create_then_hang);

// args: redis config (JSON), block name. A worker creates the block and is SIGKILLed; the driver
// then exits normally (its session end is the resource tracker's).
LITHOPS_SCENARIO(shm_worker_killed) {
  mp::config::set_parameter(mp::config::LITHOPS_CONFIG,
                            json::object{{"redis", json::parse(args.at(0))}});
  mp::Event created;
  mp::Process p(create_then_hang, args.at(1), created);
  p.start();
  if (!created.wait(std::chrono::seconds(30))) return 2;
  p.kill();
  p.join();
  std::printf("worker exit code %d\n", p.exitcode().value_or(0));
  return 0;
}

// args: redis config (JSON), block name. Creates a tracked block with a 2 s REDIS_EXPIRY_TIME,
// prints a line and waits to be SIGKILLed (no session end runs).
LITHOPS_SCENARIO(shm_create_and_hang) {
  mp::config::set_parameter(mp::config::LITHOPS_CONFIG,
                            json::object{{"redis", json::parse(args.at(0))}});
  mp::config::set_parameter(mp::config::REDIS_EXPIRY_TIME, 2);
  mp::SharedMemory mem(args.at(1), true, 10);
  mem.write(0, std::string_view("doomed"));
  std::printf("created %s\n", args.at(1).c_str());
  std::fflush(stdout);
  ::pause();
  return 0;
}

// args: redis config (JSON), block name, "1" to track. Creates it, writes "howdy", exits.
LITHOPS_SCENARIO(shm_create_and_exit) {
  mp::config::set_parameter(mp::config::LITHOPS_CONFIG,
                            json::object{{"redis", json::parse(args.at(0))}});
  mp::SharedMemory mem(args.at(1), true, 10, args.at(2) == "1");
  mem.write(0, std::string_view("howdy"));
  std::printf("created %s\n", args.at(1).c_str());
  return 0;
}

// SM-09: a segment whose creator is killed abruptly is still cleaned up. A killed worker: the
// session that ran it unlinks the block at its end, with the leak warning.
TEST(SharedMemoryTracking, SM09_BlockOfAKilledWorkerIsUnlinkedAtSessionEnd) {
  const std::string name = "sm09-worker-" + std::to_string(::getpid());
  auto run = lithops::test::run_scenario("shm_worker_killed", {redis_config(), name});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("worker exit code -9"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("leaked shared_memory objects to clean up at shutdown: ['" + name),
            std::string::npos)
      << run.output;
  EXPECT_THROW(static_cast<void>(mp::SharedMemory(name)), mp::FileNotFoundError);
}

// A killed driver (no session end at all): the block's keys expire REDIS_EXPIRY_TIME after its
// last access, so it is gone soon after (2 s here), instead of leaking forever.
TEST(SharedMemoryTracking, SM09_BlockOfAKilledDriverExpires) {
  const std::string name = "sm09-driver-" + std::to_string(::getpid());
  auto running = lithops::test::start_scenario("shm_create_and_hang", {redis_config(), name});
  ASSERT_NE(running.first_line.find("created " + name), std::string::npos) << running.first_line;
  // Attaching does not refresh the block's expiry (a read or write through a handle would).
  EXPECT_EQ(mp::SharedMemory(name, false, 0, false).size(), 10U);
  ::kill(static_cast<pid_t>(running.pid), SIGKILL);
  EXPECT_EQ(lithops::test::wait_scenario(running, 30), -SIGKILL);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {  // up to 10 s for a 2 s expiry
    try {
      static_cast<void>(mp::SharedMemory(name, false, 0, false));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } catch (const mp::FileNotFoundError&) {
      gone = true;
    }
  }
  EXPECT_TRUE(gone) << "the block of a killed driver should expire";
}

TEST(SharedMemoryTracking, SM10_UntrackedAttachmentDoesNotUnlinkAtExit) {
  mp::SharedMemory mem(10);
  auto run = lithops::test::run_scenario("shm_attach_and_exit", {redis_config(), mem.name(), "0"});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(run.output.find("resource_tracker"), std::string::npos) << run.output;
  mp::SharedMemory again(mem.name());  // still there
  again.close();
  mem.unlink();
}

TEST(SharedMemoryTracking, SM10_TrackedAttachmentIsCleanedUpWithAWarning) {
  mp::SharedMemory mem(10);
  auto run = lithops::test::run_scenario("shm_attach_and_exit", {redis_config(), mem.name(), "1"});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("resource_tracker: There appear to be 1 leaked shared_memory objects "
                            "to clean up at shutdown"),
            std::string::npos)
      << run.output;
  EXPECT_THROW(static_cast<void>(mp::SharedMemory(mem.name())), mp::FileNotFoundError);
}

TEST(SharedMemoryTracking, SM10_CreatorSessionEndUnlinksOnlyTrackedBlocks) {
  // Python's creator registers with its resource tracker too: a block the other driver created
  // with track=true and did not unlink is gone after it exits; with track=false it stays.
  const std::string kept = "sm10-kept-" + std::to_string(::getpid());
  const std::string gone = "sm10-gone-" + std::to_string(::getpid());
  auto run = lithops::test::run_scenario("shm_create_and_exit", {redis_config(), kept, "0"});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(run.output.find("resource_tracker"), std::string::npos) << run.output;
  run = lithops::test::run_scenario("shm_create_and_exit", {redis_config(), gone, "1"});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("leaked shared_memory objects"), std::string::npos) << run.output;
  mp::SharedMemory survivor(kept, false, 0, false);
  EXPECT_EQ(survivor.read(0, 5), "howdy");
  survivor.unlink();
  EXPECT_THROW(static_cast<void>(mp::SharedMemory(gone)), mp::FileNotFoundError);
}
