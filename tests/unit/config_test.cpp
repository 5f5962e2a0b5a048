// Config lookup order (design.md §3), bad config errors, and the mp::config module.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <boost/json.hpp>

#include <lithops/multiprocessing.hpp>

#include "config_internal.hpp"

namespace mp = lithops::multiprocessing;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {
class ConfigFiles : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lithops-config-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    old_cwd_ = fs::current_path();
    fs::create_directories(dir_ / "home" / ".lithops");
    fs::create_directories(dir_ / "cwd");
    fs::current_path(dir_ / "cwd");
    if (const char* h = std::getenv("HOME")) old_home_ = h;
    ::setenv("HOME", (dir_ / "home").c_str(), 1);
    ::unsetenv("LITHOPS_CONFIG_FILE");
  }
  void TearDown() override {
    fs::current_path(old_cwd_);
    ::setenv("HOME", old_home_.c_str(), 1);
    ::unsetenv("LITHOPS_CONFIG_FILE");
    fs::remove_all(dir_);
  }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  static std::string backend() {
    auto c = mp::detail::effective_config();
    return std::string(c.at("lithops").as_object().at("backend").as_string());
  }
  fs::path dir_, old_cwd_;
  std::string old_home_;
};
}  // namespace

TEST_F(ConfigFiles, NoFileGivesTheEmbeddedDefault) {
  EXPECT_FALSE(mp::detail::find_config_file());
  auto c = mp::detail::effective_config();
  EXPECT_EQ(backend(), "localhost");
  EXPECT_FALSE(c.contains("redis"));  // no redis section = private redis-server
}

TEST_F(ConfigFiles, LookupOrderEnvThenCwdThenHome) {
  write(dir_ / "home" / ".lithops" / "config.json", R"({"lithops": {"backend": "from_home"}})");
  EXPECT_EQ(backend(), "from_home");
  write(dir_ / "cwd" / ".lithops_config.json", R"({"lithops": {"backend": "from_cwd"}})");
  EXPECT_EQ(backend(), "from_cwd");
  write(dir_ / "env.json", R"({"lithops": {"backend": "from_env"}})");
  ::setenv("LITHOPS_CONFIG_FILE", (dir_ / "env.json").c_str(), 1);
  EXPECT_EQ(backend(), "from_env");
}

TEST_F(ConfigFiles, MissingFileNamedByEnvIsAnError) {
  ::setenv("LITHOPS_CONFIG_FILE", (dir_ / "nope.json").c_str(), 1);
  try {
    mp::detail::effective_config();
    FAIL();
  } catch (const mp::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("nope.json"), std::string::npos);
  }
}

TEST_F(ConfigFiles, InvalidJsonNamesFileAndLine) {
  write(dir_ / "cwd" / ".lithops_config.json", "{\n  \"lithops\": {\n    \"backend\": ,\n  }\n}\n");
  try {
    mp::detail::effective_config();
    FAIL();
  } catch (const mp::ConfigError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find(".lithops_config.json"), std::string::npos) << m;
    EXPECT_NE(m.find("line 3"), std::string::npos) << m;
  }
}

TEST_F(ConfigFiles, WrongTypeIsAnErrorNamingTheKey) {
  write(dir_ / "cwd" / ".lithops_config.json", R"({"redis": {"port": "six"}})");
  try {
    mp::detail::effective_config();
    FAIL();
  } catch (const mp::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("redis.port"), std::string::npos) << e.what();
  }
  write(dir_ / "cwd" / ".lithops_config.json", R"({"lithops": []})");
  EXPECT_THROW(mp::detail::effective_config(), mp::ConfigError);
}

TEST_F(ConfigFiles, LostGracePeriodIsSecondsFromZeroToAnHour) {
  write(dir_ / "cwd" / ".lithops_config.json", R"({"lithops": {"lost_grace_period": 0.5}})");
  EXPECT_EQ(mp::detail::effective_config().at("lithops").at("lost_grace_period").as_double(), 0.5);
  for (const char* bad : {R"("5")", "-1", "3601"}) {
    write(dir_ / "cwd" / ".lithops_config.json",
          std::string(R"({"lithops": {"lost_grace_period": )") + bad + "}}");
    try {
      mp::detail::effective_config();
      ADD_FAILURE() << "accepted " << bad;
    } catch (const mp::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("lithops.lost_grace_period"), std::string::npos)
          << e.what();
    }
  }
}

TEST_F(ConfigFiles, LithopsConfigParameterMergesOverTheFile) {
  write(dir_ / "cwd" / ".lithops_config.json",
        R"({"lithops": {"backend": "from_cwd", "log_level": "INFO"}})");
  mp::config::set_parameter(mp::config::LITHOPS_CONFIG,
                            json::parse(R"({"lithops": {"backend": "from_param"}})"));
  auto c = mp::detail::effective_config();
  EXPECT_EQ(c.at("lithops").at("backend").as_string(), "from_param");
  EXPECT_EQ(c.at("lithops").at("log_level").as_string(), "INFO");
  mp::config::set_parameter(mp::config::LITHOPS_CONFIG, json::object{});
}

TEST(ConfigModule, DefaultsAsLithops) {
  EXPECT_EQ(mp::config::get_parameter(mp::config::STREAM_STDOUT), json::value(false));
  EXPECT_EQ(mp::config::get_parameter(mp::config::REDIS_EXPIRY_TIME).to_number<int>(), 3600);
  EXPECT_EQ(mp::config::get_parameter(mp::config::PIPE_CONNECTION_TYPE).as_string(), "redislist");
  EXPECT_TRUE(mp::config::get_parameter(mp::config::ENV_VARS).as_object().empty());
  EXPECT_TRUE(mp::config::get_parameter(mp::config::LITHOPS_CONFIG).as_object().empty());
  EXPECT_TRUE(mp::config::get_parameter(mp::config::EXPORT_EXECUTION_DETAILS).is_null());
}

TEST(ConfigModule, RejectsUnknownKeyAndWrongTypes) {
  EXPECT_THROW(mp::config::set_parameter("NO_SUCH_KEY", 1), mp::ValueError);
  EXPECT_THROW(mp::config::set_parameter(mp::config::STREAM_STDOUT, "yes"), mp::ValueError);
  EXPECT_THROW(mp::config::set_parameter(mp::config::REDIS_EXPIRY_TIME, -5), mp::ValueError);
  EXPECT_THROW(mp::config::set_parameter(mp::config::ENV_VARS, json::parse(R"({"A": 1})")),
               mp::ValueError);
  try {
    mp::config::set_parameter(mp::config::REDIS_EXPIRY_TIME, "soon");
    FAIL();
  } catch (const mp::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("REDIS_EXPIRY_TIME"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("integer"), std::string::npos);
  }
  mp::config::set_parameter(mp::config::REDIS_EXPIRY_TIME, 60);
  EXPECT_EQ(mp::detail::parameters().redis_expiry_time, 60);
  mp::config::set_parameter(mp::config::REDIS_EXPIRY_TIME, 3600);
}

TEST_F(ConfigFiles, UnknownKeyWarnsWithTheNearestValidOne) {
  write(dir_ / "cwd" / ".lithops_config.json",
        R"({"redis": {"passwrd": "x"}, "lithosp": {}, "lithops": {"backend": "localhost"}})");
  testing::internal::CaptureStderr();
  auto c = mp::detail::effective_config();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("'passwrd'; did you mean 'password'?"), std::string::npos) << err;
  EXPECT_NE(err.find("'lithosp'; did you mean 'lithops'?"), std::string::npos) << err;
  EXPECT_EQ(c.at("lithops").at("backend").as_string(), "localhost");  // still loads
}
