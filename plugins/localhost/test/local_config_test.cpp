#include "local_config.hpp"

#include <boost/json/parse.hpp>
#include <string>

#include <gtest/gtest.h>

#include "lithops/sdk/errors.hpp"
#include "test_support.hpp"

namespace lithops::localhost::test {
namespace {

LocalConfig parse(const std::string& json) {
  const boost::json::object section = boost::json::parse(json).as_object();
  return LocalConfig::parse(&section);
}

// The error must name the key so the user knows what to fix.
void expect_config_error(const std::string& json, const std::string& key) {
  try {
    parse(json);
    ADD_FAILURE() << "no ConfigError for " << json;
  } catch (const sdk::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
}

TEST(LocalConfig, DefaultsWhenSectionIsEmptyOrAbsent) {
  const LocalConfig config = parse("{}");
  EXPECT_EQ(config.max_workers, 4096u);
  EXPECT_EQ(config.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(config.prewarm, 0u);
  EXPECT_TRUE(config.worker_env.empty());
  EXPECT_EQ(LocalConfig::parse(nullptr).max_workers, 4096u);
}

TEST(LocalConfig, ReadsEveryKey) {
  const LocalConfig config =
      parse(R"({"max_workers": 8, "idle_timeout": 0.5, "prewarm": 2, "worker_env": {"A": "1"}})");
  EXPECT_EQ(config.max_workers, 8u);
  EXPECT_EQ(config.idle_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(config.prewarm, 2u);
  ASSERT_EQ(config.worker_env.size(), 1u);
  EXPECT_EQ(config.worker_env[0].first, "A");
  EXPECT_EQ(config.worker_env[0].second, "1");
}

TEST(LocalConfig, RejectsWrongTypesNamingTheKey) {
  expect_config_error(R"({"max_workers": "abc"})", "max_workers");
  expect_config_error(R"({"max_workers": 2.5})", "max_workers");
  expect_config_error(R"({"max_workers": 0})", "max_workers");
  expect_config_error(R"({"idle_timeout": "x"})", "idle_timeout");
  expect_config_error(R"({"idle_timeout": -1})", "idle_timeout");
  expect_config_error(R"({"prewarm": -1})", "prewarm");
  expect_config_error(R"({"prewarm": true})", "prewarm");
  expect_config_error(R"({"prewarm": 5, "max_workers": 2})", "prewarm");
  expect_config_error(R"({"worker_env": [1]})", "worker_env");
  expect_config_error(R"({"worker_env": {"A": 1}})", "worker_env.A");
  expect_config_error(R"({"worker_env": {"A=B": "1"}})", "worker_env");
}

TEST(LocalConfig, ExecutorConstructorRejectsBadConfig) {
  RecordingListener listener;
  EXPECT_THROW(make_executor(R"({"max_workers": "many"})", &listener), sdk::ConfigError);
}

}  // namespace
}  // namespace lithops::localhost::test
