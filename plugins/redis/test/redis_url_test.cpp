// The `redis` section's connection forms against a real redis-server: `url` (redis://, unix://),
// `password_file`, $LITHOPS_REDIS_PASSWORD, and their errors (which never echo a password).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "embedded_redis.hpp"
#include "lithops/sdk/errors.hpp"
#include "redis_store.hpp"
#include "store_config_test_util.hpp"

namespace {

namespace sdk = lithops::sdk;
namespace json = boost::json;
using lithops::multiprocessing::detail::EmbeddedRedis;
using lithops::plugins::redis::RedisStore;
using namespace std::chrono_literals;

using lithops::plugins::redis::test::error_of;
using lithops::plugins::redis::test::has;
using lithops::plugins::redis::test::make_store;

std::string run(RedisStore& s, std::vector<std::string_view> args) {
  const auto r = s.execute(args, 2s);
  return r.type == sdk::Reply::Type::kInteger ? std::to_string(r.integer) : r.str;
}

class RedisUrlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tcp_ = EmbeddedRedis::start({.tcp = true}).release();
    unix_ = EmbeddedRedis::start().release();
  }
  static void TearDownTestSuite() {
    delete tcp_;
    delete unix_;
  }
  void TearDown() override { ::unsetenv("LITHOPS_REDIS_PASSWORD"); }

  static std::string port() { return std::to_string(tcp_->port()); }
  std::string write_file(const std::string& name, const std::string& text) {
    const std::string path = tcp_->directory() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  static inline EmbeddedRedis* tcp_ = nullptr;
  static inline EmbeddedRedis* unix_ = nullptr;
};

TEST_F(RedisUrlTest, RedisUrlWithPasswordAndDb) {
  auto store =
      make_store({{"url", "redis://:" + tcp_->password() + "@127.0.0.1:" + port() + "/3"}});
  EXPECT_EQ(store->endpoint(), "redis 127.0.0.1:" + port());
  run(*store, {"SET", "url:k", "in-db-3"});
  // The key landed in database 3, not 0.
  EXPECT_EQ(run(*make_store(tcp_->redis_config()), {"EXISTS", "url:k"}), "0");
  auto db3 = tcp_->redis_config();
  db3["db"] = 3;
  EXPECT_EQ(run(*make_store(db3), {"GET", "url:k"}), "in-db-3");
  // Workers get the resolved fields, and connect with them.
  const json::object worker = store->connection_config();
  EXPECT_FALSE(worker.contains("url"));
  EXPECT_EQ(worker.at("db"), 3);
  EXPECT_EQ(worker.at("port"), tcp_->port());
  EXPECT_EQ(run(*make_store(worker), {"GET", "url:k"}), "in-db-3");
}

TEST_F(RedisUrlTest, UserAndPercentEncodedParts) {
  // "default" is Redis' user for requirepass; %66 is 'f'.
  auto store =
      make_store({{"url", "redis://de%66ault:" + tcp_->password() + "@localhost:" + port()}});
  EXPECT_EQ(run(*store, {"ACL", "WHOAMI"}), "default");
}

TEST_F(RedisUrlTest, UnixUrl) {
  auto store =
      make_store({{"url", "unix://" + unix_->unix_socket()}, {"password", unix_->password()}});
  EXPECT_EQ(store->endpoint(), "redis unix:" + unix_->unix_socket());
  EXPECT_EQ(run(*store, {"PING"}), "PONG");
}

TEST_F(RedisUrlTest, Ipv6Brackets) {
  // Port 1 is closed (or IPv6 is off): either way the message shows the parsed address.
  const auto msg =
      error_of<sdk::ConnectionError>({{"url", "redis://[::1]:1"}, {"connect_timeout", 1}});
  EXPECT_TRUE(has(msg, "[::1]:1")) << msg;
}

TEST_F(RedisUrlTest, PasswordFile) {
  const auto path = write_file("pw", tcp_->password() + "\n");
  auto store = make_store({{"url", "redis://127.0.0.1:" + port()}, {"password_file", path}});
  EXPECT_EQ(run(*store, {"PING"}), "PONG");
  // A worker cannot read the driver's file: it gets the password itself.
  const json::object worker = store->connection_config();
  EXPECT_FALSE(worker.contains("password_file"));
  EXPECT_EQ(worker.at("password").as_string(), tcp_->password());
}

TEST_F(RedisUrlTest, PasswordFromTheEnvironment) {
  const json::object section{{"host", "127.0.0.1"}, {"port", tcp_->port()}};
  auto msg = error_of<sdk::ConnectionError>(section);
  EXPECT_TRUE(has(msg, "password")) << msg;
  ::setenv("LITHOPS_REDIS_PASSWORD", tcp_->password().c_str(), 1);
  auto store = make_store(section);
  EXPECT_EQ(run(*store, {"PING"}), "PONG");
  EXPECT_EQ(store->connection_config().at("password").as_string(), tcp_->password());
  // A password in the config wins over the environment.
  ::setenv("LITHOPS_REDIS_PASSWORD", "not-the-password", 1);
  json::object explicit_pw = section;
  explicit_pw["password"] = tcp_->password();
  EXPECT_EQ(run(*make_store(explicit_pw), {"PING"}), "PONG");
}

TEST_F(RedisUrlTest, PasswordFileErrors) {
  auto msg = error_of<sdk::ConfigError>(
      {{"host", "127.0.0.1"}, {"password_file", "/nonexistent/redis-password"}});
  EXPECT_TRUE(has(msg, "`redis.password_file` /nonexistent/redis-password")) << msg;
  const auto empty = write_file("empty", "\n");
  msg = error_of<sdk::ConfigError>({{"host", "127.0.0.1"}, {"password_file", empty}});
  EXPECT_TRUE(has(msg, "is empty")) << msg;
  const auto pw = write_file("pw2", "x");
  msg = error_of<sdk::ConfigError>(
      {{"host", "127.0.0.1"}, {"password", "secret-one"}, {"password_file", pw}});
  EXPECT_TRUE(has(msg, "give one")) << msg;
  EXPECT_FALSE(has(msg, "secret-one")) << msg;
}

TEST_F(RedisUrlTest, UrlErrorsNameTheProblemAndHideThePassword) {
  struct Case {
    std::string url;
    std::string expect;
  };
  const std::vector<Case> cases{
      {"http://u:hunter2@host", "unknown scheme \"http\""},
      {"redis://u:hunter2@host:notaport", "the port must be a number"},
      {"redis://u:hunter2@host:70000", "the port must be a number"},
      {"redis://u:hunter2@host/db1", "database number"},
      {"redis://u:hunter2@[::1", "closing ']'"},
      {"redis://u:hunter2%4@host", "two hex digits"},
      {"unix://relative.sock", "absolute socket path"},
      {"localhost:6379", "no scheme"},
  };
  for (const auto& c : cases) {
    const auto msg = error_of<sdk::ConfigError>({{"url", c.url}});
    EXPECT_TRUE(has(msg, c.expect)) << c.url << " -> " << msg;
    EXPECT_TRUE(has(msg, "`redis.url`")) << msg;
    EXPECT_FALSE(has(msg, "hunter2")) << msg;
  }
  auto msg = error_of<sdk::ConfigError>({{"url", "redis://h"}, {"host", "h"}});
  EXPECT_TRUE(has(msg, "`redis.url` and `redis.host`")) << msg;
  msg = error_of<sdk::ConfigError>({{"url", "redis://:pw@h"}, {"password", "pw"}});
  EXPECT_TRUE(has(msg, "give it once")) << msg;
  msg = error_of<sdk::ConfigError>({{"url", "redis://h/1"}, {"db", 2}});
  EXPECT_TRUE(has(msg, "`redis.db`")) << msg;
  msg = error_of<sdk::ConfigError>({{"url", 5}});
  EXPECT_TRUE(has(msg, "`redis.url`")) << msg;
}

}  // namespace
