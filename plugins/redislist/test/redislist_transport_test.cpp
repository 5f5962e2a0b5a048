// The redislist transport against a real redis-server, without the core: both ends in this
// process, talking through the redis StateStore.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include <boost/dll/import.hpp>

#include "embedded_redis.hpp"
#include "lithops/sdk/errors.hpp"
#include "lithops/sdk/plugin.hpp"
#include "redis_store.hpp"
#include "redislist_transport.hpp"
#include "timing.hpp"

namespace {
namespace sdk = lithops::sdk;
using lithops::multiprocessing::detail::EmbeddedRedis;
using lithops::plugins::redislist::RedisListTransport;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class RedisListTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = EmbeddedRedis::start(); }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    section_ = server_->redis_config();
    sdk::PluginContext store_ctx;
    store_ctx.config = &section_;
    store_ctx.section = &section_;
    store_ = std::make_unique<lithops::plugins::redis::RedisStore>(store_ctx);
    std::vector<std::string_view> flush{"FLUSHALL"};
    store_->execute(flush, 5s);
    sdk::PluginContext ctx;
    ctx.store = store_.get();
    ctx.key_prefix = "t:";
    ctx.expiry_seconds = 120;
    transport_ = std::make_unique<RedisListTransport>(ctx);
    transport_->create(kPipe);
    a_ = transport_->attach(kPipe, 0);
    b_ = transport_->attach(kPipe, 1);
  }

  sdk::Reply run(std::vector<std::string_view> args) { return store_->execute(args, 5s); }

  static constexpr const char* kPipe = "t:{pipe:1}";
  static inline std::unique_ptr<EmbeddedRedis> server_;
  boost::json::object section_;
  std::unique_ptr<sdk::StateStore> store_;
  std::unique_ptr<RedisListTransport> transport_;
  std::unique_ptr<sdk::PipeEnd> a_, b_;
};

TEST_F(RedisListTest, MessagesArriveInOrderBothWays) {
  a_->send("one");
  a_->send("");
  a_->send(std::string("bin\0ary", 7));
  b_->send("back");
  EXPECT_EQ(b_->recv(1s), "one");
  EXPECT_EQ(b_->recv(1s), "");
  EXPECT_EQ(b_->recv(1s), std::string("bin\0ary", 7));
  EXPECT_EQ(a_->recv(std::nullopt), "back");
}

TEST_F(RedisListTest, RecvTimesOutWithNullopt) {
  EXPECT_EQ(b_->recv(0ms), std::nullopt);
  const auto t0 = Clock::now();
  EXPECT_EQ(b_->recv(200ms), std::nullopt);
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 200ms + lithops::test::late_slack_ms());
}

TEST_F(RedisListTest, PollWaitsAndDoesNotConsume) {
  EXPECT_FALSE(b_->poll(0ms));
  const auto t0 = Clock::now();
  EXPECT_FALSE(b_->poll(150ms));
  EXPECT_GE(Clock::now() - t0, 140ms);
  std::thread sender([&] {  // sends once b's poll waits in the server
    EXPECT_TRUE(lithops::test::eventually([&] {
      return lithops::test::info_field(run({"INFO", "clients"}).str, "blocked_clients") >= 1;
    }));
    a_->send("x");
  });
  EXPECT_TRUE(b_->poll(5s));
  sender.join();
  EXPECT_TRUE(b_->poll(0ms));
  EXPECT_EQ(b_->recv(0ms), "x");
  EXPECT_FALSE(b_->poll(0ms));
}

TEST_F(RedisListTest, CloseGivesEofAfterDrainAndStaysEof) {
  a_->send("last");
  a_->close();
  a_->close();  // idempotent
  EXPECT_TRUE(b_->poll(0ms));
  EXPECT_EQ(b_->recv(1s), "last");
  EXPECT_THROW(b_->recv(1s), sdk::PipeClosedError);
  EXPECT_THROW(b_->recv(std::nullopt), sdk::PipeClosedError);
  // Another attachment of the same end (another process) sees EOF too.
  auto again = transport_->attach(kPipe, 1);
  EXPECT_TRUE(again->poll(0ms));
  EXPECT_THROW(again->recv(1s), sdk::PipeClosedError);
}

TEST_F(RedisListTest, SendToClosedPeerIsBrokenPipe) {
  b_->close();
  EXPECT_THROW(a_->send("nobody"), sdk::PipeClosedError);
}

TEST_F(RedisListTest, SixtyFourMiBMessage) {
  std::string big(64u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i >> 12);
  a_->send(big);
  auto got = b_->recv(30s);
  ASSERT_TRUE(got);
  EXPECT_TRUE(*got == big);
}

TEST_F(RedisListTest, KeysExpireAndDestroyRemovesThem) {
  a_->send("x");
  a_->close();
  const std::string to1 = std::string(kPipe) + ":to1";
  const auto ttl = run({"TTL", to1}).integer;
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 120);
  EXPECT_GT(run({"TTL", std::string(kPipe) + ":closed0"}).integer, 0);
  transport_->destroy(kPipe);
  EXPECT_EQ(run({"EXISTS", to1, std::string(kPipe) + ":closed0"}).integer, 0);
}

TEST(RedisListPlugin, ExportsATransportNamedRedislist) {
  boost::dll::shared_library lib(LITHOPS_REDISLIST_PLUGIN_PATH);
  EXPECT_EQ(lib.get_alias<sdk::AbiFn>("lithops_plugin_abi_version")(), sdk::kAbiVersion);
  EXPECT_STREQ(lib.get_alias<sdk::StringFn>("lithops_plugin_kind")(), "pipe");
  EXPECT_STREQ(lib.get_alias<sdk::StringFn>("lithops_plugin_name")(), "redislist");
  sdk::PluginContext ctx;  // no store
  EXPECT_THROW(lib.get_alias<sdk::PipeTransportFactory>("lithops_create_pipe_transport")(ctx),
               sdk::ConfigError);
}

}  // namespace
