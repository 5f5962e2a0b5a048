// Config lookup order (design.md §3), bad config errors, and the mp::config module.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>

#include <boost/json.hpp>

#include <lithops/multiprocessing.hpp>

#include "config_internal.hpp"
#include "plugin_loader.hpp"

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
  static std::string log_level() {
    auto c = mp::detail::effective_config();
    return std::string(c.at("lithops").as_object().at("log_level").as_string());
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
  // (lithops.backend must name an executor plugin: the order is told by another key)
  write(dir_ / "home" / ".lithops" / "config.json", R"({"lithops": {"log_level": "from_home"}})");
  EXPECT_EQ(log_level(), "from_home");
  write(dir_ / "cwd" / ".lithops_config.json", R"({"lithops": {"log_level": "from_cwd"}})");
  EXPECT_EQ(log_level(), "from_cwd");
  write(dir_ / "env.json", R"({"lithops": {"log_level": "from_env"}})");
  ::setenv("LITHOPS_CONFIG_FILE", (dir_ / "env.json").c_str(), 1);
  EXPECT_EQ(log_level(), "from_env");
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
        R"({"lithops": {"backend": "localhost", "log_level": "INFO"}})");
  mp::config::set_parameter(mp::config::LITHOPS_CONFIG,
                            json::parse(R"({"lithops": {"backend": "aws_lambda"}})"));
  auto c = mp::detail::effective_config();
  EXPECT_EQ(c.at("lithops").at("backend").as_string(), "aws_lambda");
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

// Issue 21/25: every section is validated from its plugin's declaration (config_schema.hpp).
TEST_F(ConfigFiles, PluginSectionsAreValidatedFromTheirDeclarations) {
  write(dir_ / "cwd" / ".lithops_config.json",
        R"({"aws_lambda": {"regoin": "eu-west-1"}, "nanomsg": {"port_mni": 1},
            "localhost": {"max_workers": 2}, "redislist": {}})");
  testing::internal::CaptureStderr();
  mp::detail::effective_config();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("unknown key in section 'aws_lambda' 'regoin'; did you mean 'region'?"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("unknown key in section 'nanomsg' 'port_mni'; did you mean 'port_min'?"),
            std::string::npos)
      << err;
  // A plugin's own section (declared or not) is no unknown section.
  EXPECT_EQ(err.find("'localhost'"), std::string::npos) << err;
  EXPECT_EQ(err.find("'redislist'"), std::string::npos) << err;
}

TEST_F(ConfigFiles, DeclaredTypeAndRangeErrorsNameKeyAndExpectation) {
  write(dir_ / "cwd" / ".lithops_config.json", R"({"aws_lambda": {"memory": 64}})");
  try {
    mp::detail::effective_config();
    FAIL();
  } catch (const mp::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'aws_lambda.memory' must be an integer from 128 to "
                                         "10240, got integer 64"),
              std::string::npos)
        << e.what();
  }
  // A secret's value never appears in an error.
  write(dir_ / "cwd" / ".lithops_config.json", R"({"redis": {"password": 12345}})");
  try {
    mp::detail::effective_config();
    FAIL();
  } catch (const mp::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'redis.password' must be a string"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("12345"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigFiles, DeclaredSecretsAreMasked) {
  json::object c = json::parse(R"({"redis": {"password": "pw", "host": "h"},
                                   "aws_lambda": {"secret_access_key": "k", "region": "r"}})")
                       .as_object();
  mp::detail::mask_declared_secrets(c);
  EXPECT_EQ(c.at("redis").at("password").as_string(), "****");
  EXPECT_EQ(c.at("redis").at("host").as_string(), "h");
  EXPECT_EQ(c.at("aws_lambda").at("secret_access_key").as_string(), "****");
  EXPECT_EQ(c.at("aws_lambda").at("region").as_string(), "r");
}

TEST_F(ConfigFiles, PluginNamesMustBeOnThePluginPath) {
  try {
    mp::config::set_parameter(mp::config::PIPE_CONNECTION_TYPE, "carrier-pigeon");
    FAIL();
  } catch (const mp::ValueError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'carrier-pigeon'"), std::string::npos) << m;
    EXPECT_NE(m.find("available: "), std::string::npos) << m;
    EXPECT_NE(m.find("nanomsg"), std::string::npos) << m;
    EXPECT_NE(m.find("redislist"), std::string::npos) << m;
  }
  EXPECT_EQ(mp::config::get_parameter(mp::config::PIPE_CONNECTION_TYPE).as_string(), "redislist");
  try {
    mp::config::set_parameter(mp::config::LITHOPS_CONFIG,
                              json::parse(R"({"lithops": {"backend": "carrier-pigeon"}})"));
    FAIL();
  } catch (const mp::ValueError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'lithops.backend' names no executor plugin"), std::string::npos) << m;
    EXPECT_NE(m.find("localhost"), std::string::npos) << m;
  }
  write(dir_ / "cwd" / ".lithops_config.json", R"({"lithops": {"state_store": "carrier-pigeon"}})");
  try {
    mp::detail::effective_config();
    FAIL();
  } catch (const mp::ValueError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'lithops.state_store' names no state plugin"), std::string::npos) << m;
    EXPECT_NE(m.find("redis"), std::string::npos) << m;
  }
}

// Issue 25: the driver's start method comes from the config file too, not only from
// mp::config::LITHOPS_CONFIG.
TEST_F(ConfigFiles, GetStartMethodReadsTheConfigFile) {
  EXPECT_EQ(mp::get_start_method(), "localhost");
  write(dir_ / "cwd" / ".lithops_config.json", R"({"lithops": {"backend": "aws_lambda"}})");
  EXPECT_EQ(mp::get_start_method(), "aws_lambda");
  mp::config::set_parameter(mp::config::LITHOPS_CONFIG,
                            json::parse(R"({"lithops": {"backend": "localhost"}})"));
  EXPECT_EQ(mp::get_start_method(), "localhost");  // the parameter still wins over the file
  mp::config::set_parameter(mp::config::LITHOPS_CONFIG, json::object{});
}

// The documentation tables list every key the shipped plugins declare (issue 21).
TEST(ConfigDeclarations, EveryDeclaredKeyIsDocumented) {
  const auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string configuration = read(std::string(LITHOPS_TEST_DOCS_DIR) + "/configuration.md");
  const std::string lambda = read(std::string(LITHOPS_TEST_DOCS_DIR) + "/backends/aws_lambda.md");
  ASSERT_FALSE(configuration.empty());
  ASSERT_FALSE(lambda.empty());
  for (const char* plugin : {"redis", "localhost", "nanomsg", "aws_lambda"}) {
    const auto found = mp::detail::plugin_schema(plugin);
    ASSERT_NE(found.schema, nullptr) << plugin << " declares no configuration";
    EXPECT_EQ(found.schema->section, plugin);
    const std::string& doc = std::string_view(plugin) == "aws_lambda" ? lambda : configuration;
    for (const auto& key : found.schema->keys) {
      EXPECT_NE(doc.find("`" + key.name + "`"), std::string::npos)
          << plugin << "." << key.name << " is declared but not documented";
    }
  }
}
