// Plugins are found on the search path by kind and name; every failure names the fix.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include <boost/json.hpp>

#include <lithops/multiprocessing.hpp>

#include "lithops/sdk/worker_launch.hpp"
#include "plugin_loader.hpp"

namespace mp = lithops::multiprocessing;

namespace {
std::string error_of(const std::string& kind, const std::string& name) {
  boost::json::object empty;
  lithops::sdk::PluginContext ctx;
  ctx.config = &empty;
  ctx.section = &empty;
  try {
    if (kind == "executor") mp::detail::create_executor(name, ctx);
    if (kind == "state") mp::detail::create_state_store(name, ctx);
  } catch (const mp::ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(PluginLoader, UnknownNameListsAvailablePluginsAndSearchPath) {
  auto m = error_of("executor", "no_such_backend");
  EXPECT_NE(m.find("unknown executor plugin 'no_such_backend'"), std::string::npos) << m;
  EXPECT_NE(m.find("localhost"), std::string::npos) << m;  // what exists
  EXPECT_NE(m.find("liblithops_executor_no_such_backend.so"), std::string::npos) << m;
  EXPECT_NE(m.find("LITHOPS_PLUGIN_PATH"), std::string::npos) << m;
}

TEST(PluginLoader, FindsTheBuiltInPlugins) {
  bool localhost = false, redis = false;
  for (const auto& dir : mp::detail::plugin_search_path()) {
    localhost |= std::filesystem::exists(dir / "liblithops_executor_localhost.so");
    redis |= std::filesystem::exists(dir / "liblithops_state_redis.so");
  }
  EXPECT_TRUE(localhost);
  EXPECT_TRUE(redis);
}

TEST(PluginLoader, EnvironmentPathComesFirst) {
  ::setenv("LITHOPS_PLUGIN_PATH", "/opt/a:/opt/b", 1);
  auto path = mp::detail::plugin_search_path();
  ::unsetenv("LITHOPS_PLUGIN_PATH");
  ASSERT_GE(path.size(), 3u);
  EXPECT_EQ(path[0], "/opt/a");
  EXPECT_EQ(path[1], "/opt/b");
}

TEST(PluginLoader, AbiMismatchIsRefusedBeforeUse) {
  ::setenv("LITHOPS_PLUGIN_PATH", LITHOPS_TEST_BAD_PLUGIN_DIR, 1);
  auto m = error_of("executor", "badabi");
  ::unsetenv("LITHOPS_PLUGIN_PATH");
  EXPECT_NE(m.find("ABI version 999"), std::string::npos) << m;
  EXPECT_NE(m.find("rebuild"), std::string::npos) << m;
}

TEST(PluginLoader, LibraryWithoutSdkExportsIsRefused) {
  ::setenv("LITHOPS_PLUGIN_PATH", LITHOPS_TEST_BAD_PLUGIN_DIR, 1);
  auto m = error_of("executor", "notaplugin");
  ::unsetenv("LITHOPS_PLUGIN_PATH");
  EXPECT_NE(m.find("lithops_plugin_abi_version"), std::string::npos) << m;
}

TEST(PluginLoader, MissingOrBrokenFileIsAClearError) {
  EXPECT_THROW(mp::detail::check_plugin_file("/nonexistent/liblithops_executor_x.so", "executor"),
               mp::ConfigError);
}

TEST(PluginLoader, WrongKindIsRefused) {
  ::setenv("LITHOPS_PLUGIN_PATH", LITHOPS_TEST_BAD_PLUGIN_DIR, 1);
  std::string dir = LITHOPS_TEST_BAD_PLUGIN_DIR;
  ::unsetenv("LITHOPS_PLUGIN_PATH");
  try {
    mp::detail::check_plugin_file(dir + "/../../../plugins/liblithops_state_redis.so", "executor");
    FAIL();
  } catch (const mp::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'state' plugin"), std::string::npos) << e.what();
  }
}

// Issue 25: one name. A file liblithops_executor_forkexec2.so exporting "forkexec" is refused,
// before anything in it runs, with both names in the error (its workers would never start).
TEST(PluginLoader, ExportedNameMustMatchTheFileName) {
  ::setenv("LITHOPS_PLUGIN_PATH", LITHOPS_TEST_BAD_PLUGIN_DIR, 1);
  auto m = error_of("executor", "forkexec2");
  ::unsetenv("LITHOPS_PLUGIN_PATH");
  EXPECT_NE(m.find("exports the name 'forkexec'"), std::string::npos) << m;
  EXPECT_NE(m.find("loaded as 'forkexec2'"), std::string::npos) << m;
  EXPECT_NE(m.find("rename the file"), std::string::npos) << m;
  try {
    mp::detail::check_plugin_file(
        std::string(LITHOPS_TEST_BAD_PLUGIN_DIR) + "/liblithops_executor_forkexec2.so", "executor");
    FAIL();
  } catch (const mp::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'forkexec'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'forkexec2'"), std::string::npos) << e.what();
  }
}

// The context a plugin gets names it: what worker_environment() hands to its workers.
TEST(PluginLoader, ContextCarriesThePluginNameAndFile) {
  boost::json::object empty;
  lithops::sdk::PluginContext ctx;
  ctx.config = &empty;
  ctx.section = &empty;
  EXPECT_THROW(lithops::sdk::worker_environment(ctx), lithops::sdk::PluginError);
  ctx.plugin_name = "localhost";
  ctx.plugin_file = "/x/liblithops_executor_localhost.so";
  const auto env = lithops::sdk::worker_environment(ctx);
  ASSERT_EQ(env.size(), 2u);
  // What mp::init() reads: the same constants the core uses.
  EXPECT_EQ(env[0].second, "localhost");
  EXPECT_EQ(env[1].second, "/x/liblithops_executor_localhost.so");
  const auto all =
      lithops::sdk::environment_with({{"LITHOPS_CHECK_A", "1"}, {"LITHOPS_CHECK_A", "2"}});
  EXPECT_EQ(std::count(all.begin(), all.end(), "LITHOPS_CHECK_A=2"), 1);
  EXPECT_EQ(std::count(all.begin(), all.end(), "LITHOPS_CHECK_A=1"), 0);
}
