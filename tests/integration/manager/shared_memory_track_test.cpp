// SM-10: SharedMemory track=false / track=true. The "separate Python process" of CPython's test is
// a separate driver program here (a scenario of this binary, its own session on the same Redis):
// its session end is what Python's resource tracker exit is.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <string>
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

// args: redis config (JSON), block name, "1" to track. Creates it, writes "howdy", exits.
LITHOPS_SCENARIO(shm_create_and_exit) {
  mp::config::set_parameter(mp::config::LITHOPS_CONFIG,
                            json::object{{"redis", json::parse(args.at(0))}});
  mp::SharedMemory mem(args.at(1), true, 10, args.at(2) == "1");
  mem.write(0, std::string_view("howdy"));
  std::printf("created %s\n", args.at(1).c_str());
  return 0;
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
