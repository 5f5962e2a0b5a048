// RedisStore against a real redis-server (EmbeddedRedis, one per suite).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/dll/import.hpp>
#include <boost/json.hpp>

#include "embedded_redis.hpp"
#include "lithops/sdk/errors.hpp"
#include "lithops/sdk/plugin.hpp"
#include "redis_store.hpp"
#include "timing.hpp"

namespace {

namespace sdk = lithops::sdk;
using lithops::multiprocessing::detail::EmbeddedRedis;
using lithops::plugins::redis::RedisStore;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::unique_ptr<RedisStore> make_store(const boost::json::object& section) {
  sdk::PluginContext ctx;
  ctx.config = &section;
  ctx.section = &section;
  return std::make_unique<RedisStore>(ctx);
}

// Runs `fn` expecting it to throw E; returns the message.
template <typename E, typename Fn>
std::string message_of(Fn fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class RedisStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = EmbeddedRedis::start(); }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    store_ = make_store(server_->redis_config());
    ASSERT_EQ(run({"FLUSHALL"}).str, "OK");
  }

  sdk::Reply run(std::vector<std::string_view> args, std::chrono::milliseconds timeout = 5s) {
    return store_->execute(args, timeout);
  }

  static inline std::unique_ptr<EmbeddedRedis> server_;
  std::unique_ptr<RedisStore> store_;
};

TEST_F(RedisStoreTest, SetGetIsBinarySafe) {
  std::string value("a\0b\r\n\0c", 7);
  for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
  const std::string key("k\0ey", 4);
  EXPECT_EQ(run({"SET", key, value}).type, sdk::Reply::Type::kStatus);
  const sdk::Reply got = run({"GET", key});
  EXPECT_EQ(got.type, sdk::Reply::Type::kString);
  EXPECT_EQ(got.str, value);
  EXPECT_TRUE(run({"GET", "k"}).is_nil());  // the NUL is part of the key
  EXPECT_EQ(run({"SET", "empty", ""}).str, "OK");
  EXPECT_EQ(run({"GET", "empty"}).type, sdk::Reply::Type::kString);
  EXPECT_EQ(run({"GET", "empty"}).str, "");
}

TEST_F(RedisStoreTest, LargeValueRoundTrips) {
  std::string big(8 << 20, 'x');
  big[12345] = '\0';
  EXPECT_EQ(run({"SET", "big", big}).str, "OK");
  EXPECT_EQ(run({"GET", "big"}).str, big);
}

TEST_F(RedisStoreTest, ConvertsEveryReplyType) {
  const sdk::Reply n = run({"INCR", "counter"});
  EXPECT_EQ(n.type, sdk::Reply::Type::kInteger);
  EXPECT_EQ(n.integer, 1);
  EXPECT_TRUE(run({"GET", "missing"}).is_nil());
  const sdk::Reply ok = run({"SET", "a", "1"});
  EXPECT_EQ(ok.type, sdk::Reply::Type::kStatus);
  EXPECT_EQ(ok.str, "OK");

  const sdk::Reply nested =
      run({"EVAL", "return {7, {'x', 'y'}, redis.status_reply('FINE'), false}", "0"});
  ASSERT_EQ(nested.type, sdk::Reply::Type::kArray);
  ASSERT_EQ(nested.elements.size(), 4u);
  EXPECT_EQ(nested.elements[0].integer, 7);
  ASSERT_EQ(nested.elements[1].elements.size(), 2u);
  EXPECT_EQ(nested.elements[1].elements[1].str, "y");
  EXPECT_EQ(nested.elements[2].type, sdk::Reply::Type::kStatus);
  EXPECT_EQ(nested.elements[2].str, "FINE");
  EXPECT_TRUE(nested.elements[3].is_nil());  // Lua false becomes a nil bulk

  const sdk::Reply err = run({"NOSUCHCOMMAND", "x"});
  EXPECT_TRUE(err.is_error());
  EXPECT_NE(err.str.find("unknown command"), std::string::npos) << err.str;
  const sdk::Reply wrongtype = run({"LPUSH", "a", "v"});
  EXPECT_TRUE(wrongtype.is_error());
  EXPECT_EQ(wrongtype.str.rfind("WRONGTYPE", 0), 0u) << wrongtype.str;
  EXPECT_EQ(run({"PING"}).str, "PONG");  // an error reply leaves the connection usable
}

TEST_F(RedisStoreTest, ManyArgumentsUseTheHeapPath) {
  std::vector<std::string> values;
  std::vector<std::string_view> args{"RPUSH", "list"};
  for (int i = 0; i < 50; ++i) values.push_back(std::string("v").append(std::to_string(i)));
  for (const auto& v : values) args.push_back(v);
  EXPECT_EQ(run(args).integer, 50);
  const sdk::Reply all = run({"LRANGE", "list", "0", "-1"});
  ASSERT_EQ(all.elements.size(), 50u);
  EXPECT_EQ(all.elements[49].str, "v49");
}

TEST_F(RedisStoreTest, PipelineRepliesComeInOrder) {
  std::vector<sdk::Command> cmds;
  for (int i = 0; i < 100; ++i) cmds.push_back({"RPUSH", "p", std::to_string(i)});
  cmds.push_back({"NOSUCHCOMMAND"});
  cmds.push_back({"LRANGE", "p", "0", "2"});
  const auto replies = store_->execute_pipeline(cmds, 5s);
  ASSERT_EQ(replies.size(), 102u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(replies[i].integer, i + 1);
  EXPECT_TRUE(replies[100].is_error());
  ASSERT_EQ(replies[101].elements.size(), 3u);
  EXPECT_EQ(replies[101].elements[2].str, "2");
  EXPECT_TRUE(store_->execute_pipeline({}, 1s).empty());
}

// A value of `n` bytes whose content depends on `seed` and the position (binary, with CR/LF/NUL).
std::string patterned(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131 + seed * 7 + i / 251) & 0xff);
  return s;
}

// A StateStore that only forwards execute/execute_pipeline to a RedisStore: what a third-party
// plugin without its own execute_pipeline_into gets (the SDK's default).
class ForwardingStore final : public sdk::StateStore {
 public:
  explicit ForwardingStore(sdk::StateStore& inner) : inner_(inner) {}
  sdk::Reply execute(sdk::CommandArgs args, std::chrono::milliseconds timeout) override {
    return inner_.execute(args, timeout);
  }
  std::vector<sdk::Reply> execute_pipeline(std::span<const sdk::Command> commands,
                                           std::chrono::milliseconds timeout) override {
    return inner_.execute_pipeline(commands, timeout);
  }
  std::unique_ptr<sdk::Subscription> subscribe(std::span<const std::string> channels) override {
    return inner_.subscribe(channels);
  }
  boost::json::object connection_config() const override { return inner_.connection_config(); }
  std::string endpoint() const override { return inner_.endpoint(); }

 private:
  sdk::StateStore& inner_;
};

// execute_pipeline_into on `store`: string replies of every size around hiredis' 16 KiB reads
// land byte-exact in the caller's buffers, whatever else comes before and after them.
void check_pipeline_into(sdk::StateStore& store) {
  const std::vector<std::size_t> sizes{0,      1,     2,     3,     15,    16381,   16382,
                                       16383,  16384, 16385, 16386, 65536, 1 << 20, (1 << 20) + 3,
                                       3 << 20};
  std::vector<std::string> values;
  std::vector<sdk::Command> sets;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    values.push_back(patterned(sizes[i], static_cast<unsigned>(i)));
    sets.push_back({"SET", "v" + std::to_string(i), values.back()});
  }
  for (const auto& r : store.execute_pipeline(sets, 10s)) ASSERT_EQ(r.str, "OK");

  // Twice over, so short replies share hiredis' reads with the headers of the next ones.
  std::vector<sdk::Command> cmds;
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < sizes.size(); ++i) cmds.push_back({"GET", "v" + std::to_string(i)});
  }
  const std::size_t n_values = cmds.size();
  cmds.push_back({"GET", "missing"});                  // nil
  cmds.push_back({"INCR", "counter"});                 // integer
  cmds.push_back({"LPUSH", "v1", "x"});                // error (WRONGTYPE)
  cmds.push_back({"GETRANGE", "v14", "100", "1099"});  // into a buffer too small for it
  cmds.push_back({"GETRANGE", "v13", "0", "9"});       // into a buffer larger than it
  cmds.push_back({"GET", "v12"});                      // not into a buffer: a normal reply
  cmds.push_back({"PING"});

  std::vector<std::string> bufs;
  for (std::size_t i = 0; i < n_values; ++i) bufs.emplace_back(sizes[i % sizes.size()], '#');
  bufs.emplace_back(8, '#');
  bufs.emplace_back(8, '#');
  bufs.emplace_back(8, '#');
  bufs.emplace_back(300, '#');
  bufs.emplace_back(20, '#');
  std::vector<std::span<std::byte>> into;
  for (auto& b : bufs) into.push_back(std::as_writable_bytes(std::span<char>(b)));

  const auto replies = store.execute_pipeline_into(cmds, into, 10s);
  ASSERT_EQ(replies.size(), cmds.size());
  for (std::size_t i = 0; i < n_values; ++i) {
    const std::string& want = values[i % sizes.size()];
    ASSERT_EQ(replies[i].type, sdk::Reply::Type::kString) << i;
    EXPECT_EQ(replies[i].integer, static_cast<long long>(want.size())) << i;
    EXPECT_TRUE(replies[i].str.empty()) << i;
    EXPECT_TRUE(bufs[i] == want) << "reply " << i << " of " << want.size() << " bytes differs";
  }
  std::size_t k = n_values;
  EXPECT_TRUE(replies[k].is_nil());
  EXPECT_EQ(bufs[k], std::string(8, '#'));
  ++k;
  EXPECT_EQ(replies[k].type, sdk::Reply::Type::kInteger);
  EXPECT_EQ(replies[k].integer, 1);
  EXPECT_EQ(bufs[k], std::string(8, '#'));
  ++k;
  EXPECT_TRUE(replies[k].is_error());
  EXPECT_EQ(replies[k].str.rfind("WRONGTYPE", 0), 0u) << replies[k].str;
  EXPECT_EQ(bufs[k], std::string(8, '#'));
  ++k;
  EXPECT_EQ(replies[k].type, sdk::Reply::Type::kString);
  EXPECT_EQ(replies[k].integer, 1000);  // the full length the server sent
  EXPECT_TRUE(bufs[k] == values[14].substr(100, 300));
  ++k;
  EXPECT_EQ(replies[k].integer, 10);
  EXPECT_TRUE(bufs[k] == values[13].substr(0, 10) + std::string(10, '#'));
  ++k;
  EXPECT_EQ(replies[k].type, sdk::Reply::Type::kString);
  EXPECT_TRUE(replies[k].str == values[12]);
  EXPECT_EQ(replies[k + 1].str, "PONG");

  // The connection stays in step afterwards.
  const auto after = store.execute_pipeline(std::vector<sdk::Command>{{"GET", "v2"}, {"PING"}}, 5s);
  EXPECT_EQ(after[0].str, values[2]);
  EXPECT_EQ(after[1].str, "PONG");
  EXPECT_THROW(store.execute_pipeline_into(std::vector<sdk::Command>{{"PING"}},
                                           std::vector<std::span<std::byte>>(2), 1s),
               std::invalid_argument);
  EXPECT_TRUE(store
                  .execute_pipeline_into(std::span<const sdk::Command>(),
                                         std::span<const std::span<std::byte>>(), 1s)
                  .empty());
}

TEST_F(RedisStoreTest, PipelineIntoWritesStringRepliesIntoTheCallersBuffers) {
  check_pipeline_into(*store_);
}

TEST_F(RedisStoreTest, PipelineIntoDefaultOfTheSdkBehavesTheSame) {
  ForwardingStore plain(*store_);
  check_pipeline_into(plain);
}

TEST_F(RedisStoreTest, PipelineIntoTimesOutAndDiscardsTheConnection) {
  std::string buf(16, '#');
  const std::vector<std::span<std::byte>> into{std::as_writable_bytes(std::span<char>(buf))};
  const std::vector<sdk::Command> cmds{{"BLPOP", "nothing", "5"}};
  const auto t0 = Clock::now();
  const std::string msg =
      message_of<sdk::ConnectionError>([&] { store_->execute_pipeline_into(cmds, into, 200ms); });
  EXPECT_LT(Clock::now() - t0, 200ms + lithops::test::late_slack_ms());
  EXPECT_NE(msg.find("timed out"), std::string::npos) << msg;
  EXPECT_EQ(run({"RPUSH", "nothing", "v"}).integer, 1);
  EXPECT_EQ(run({"LLEN", "nothing"}).integer, 1);
}

TEST_F(RedisStoreTest, PipelineIntoServerGoneIsConnectionError) {
  auto own = EmbeddedRedis::start();
  auto store = make_store(own->redis_config());
  std::string buf(16, '#');
  const std::vector<std::span<std::byte>> into{std::as_writable_bytes(std::span<char>(buf))};
  const std::vector<sdk::Command> cmds{{"GET", "k"}};
  EXPECT_TRUE(store->execute_pipeline_into(cmds, into, 1s)[0].is_nil());
  own.reset();
  const std::string msg =
      message_of<sdk::ConnectionError>([&] { store->execute_pipeline_into(cmds, into, 1s); });
  EXPECT_NE(msg.find("redis at unix:"), std::string::npos) << msg;
}

TEST_F(RedisStoreTest, BlpopTimesOutWithNil) {
  const auto t0 = Clock::now();
  const sdk::Reply r = run({"BLPOP", "nothing", "0.2"}, 2s);
  const auto elapsed = Clock::now() - t0;
  EXPECT_TRUE(r.is_nil());
  EXPECT_GE(elapsed, 100ms);
  EXPECT_LT(elapsed, 1500ms);
}

TEST_F(RedisStoreTest, ClientTimeoutThrowsAndDiscardsTheConnection) {
  const auto t0 = Clock::now();
  const std::string msg = message_of<sdk::ConnectionError>([&] {
    run({"BLPOP", "nothing", "5"}, 200ms);
  });
  EXPECT_LT(Clock::now() - t0, 200ms + lithops::test::late_slack_ms());
  EXPECT_NE(msg.find("timed out"), std::string::npos) << msg;
  EXPECT_NE(msg.find(server_->unix_socket()), std::string::npos) << msg;
  // The abandoned BLPOP must not eat this element: its connection was closed.
  EXPECT_EQ(run({"RPUSH", "nothing", "v"}).integer, 1);
  EXPECT_EQ(run({"LLEN", "nothing"}).integer, 1);
}

TEST_F(RedisStoreTest, BlockingCommandDoesNotDelayOthers) {
  std::atomic<bool> blpop_done{false};
  sdk::Reply popped;
  std::thread blocker([&] {
    popped = run({"BLPOP", "wake", "5"}, 10s);
    blpop_done = true;
  });
  ASSERT_TRUE(lithops::test::eventually([&] {  // the BLPOP reached the server
    return lithops::test::info_field(run({"INFO", "clients"}).str, "blocked_clients") == 1;
  }));
  const auto t0 = Clock::now();
  EXPECT_EQ(run({"PING"}).str, "PONG");
  EXPECT_LT(Clock::now() - t0, 500ms);
  EXPECT_FALSE(blpop_done.load()) << "PING should complete while BLPOP is still blocked";
  EXPECT_EQ(run({"RPUSH", "wake", "now"}).integer, 1);
  blocker.join();
  ASSERT_EQ(popped.elements.size(), 2u);
  EXPECT_EQ(popped.elements[1].str, "now");
}

TEST_F(RedisStoreTest, ConcurrentIncrementsAllLand) {
  constexpr int kThreads = 8;
  constexpr int kEach = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i)
        store_->execute(std::vector<std::string_view>{"INCR", "n"}, 5s);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(run({"GET", "n"}).str, std::to_string(kThreads * kEach));
  EXPECT_LE(store_->idle_connections(), 16u);
  EXPECT_GE(store_->idle_connections(), 1u);
}

TEST_F(RedisStoreTest, PoolKeepsAtMostPoolSizeIdle) {
  auto section = server_->redis_config();
  section["pool_size"] = 2;
  auto store = make_store(section);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      store->execute(std::vector<std::string_view>{"BLPOP", "never", "0.2"}, 5s);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store->idle_connections(), 2u);
}

TEST_F(RedisStoreTest, SubscriptionReceivesAndTimesOut) {
  const std::vector<std::string> channels{"news", "other"};
  auto sub = store_->subscribe(channels);
  const auto t0 = Clock::now();
  EXPECT_FALSE(sub->next(200ms).has_value());
  EXPECT_GE(Clock::now() - t0, 150ms);
  const std::string payload("hi\0there", 8);
  EXPECT_EQ(run({"PUBLISH", "news", payload}).integer, 1);
  auto m = sub->next(2s);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->channel, "news");
  EXPECT_EQ(m->payload, payload);
  // Still healthy after a timeout, and several queued messages come out one by one.
  EXPECT_FALSE(sub->next(50ms).has_value());
  run({"PUBLISH", "other", "1"});
  run({"PUBLISH", "other", "2"});
  EXPECT_EQ(sub->next(2s)->payload, "1");
  EXPECT_EQ(sub->next(2s)->payload, "2");
  EXPECT_FALSE(sub->next(0ms).has_value());
  sub.reset();
  // Destroying it closes its connection; the server drops the subscription once it notices.
  const auto deadline = Clock::now() + 2s;
  while (run({"PUBLISH", "news", "gone"}).integer != 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(run({"PUBLISH", "news", "gone"}).integer, 0);
}

TEST_F(RedisStoreTest, ConnectionConfigAndEndpoint) {
  EXPECT_EQ(store_->connection_config(), server_->redis_config());
  EXPECT_EQ(store_->endpoint(), "redis unix:" + server_->unix_socket());
  // A second store made from connection_config() reaches the same data.
  auto again = make_store(store_->connection_config());
  run({"SET", "shared", "1"});
  EXPECT_EQ(again->execute(std::vector<std::string_view>{"GET", "shared"}, 1s).str, "1");
}

TEST_F(RedisStoreTest, WrongPasswordIsConnectionErrorNamingEndpoint) {
  auto section = server_->redis_config();
  section["password"] = "wrong";
  const std::string msg = message_of<sdk::ConnectionError>([&] { make_store(section); });
  EXPECT_NE(msg.find("unix:" + server_->unix_socket()), std::string::npos) << msg;
  EXPECT_NE(msg.find("password"), std::string::npos) << msg;

  section.erase("password");
  const std::string none = message_of<sdk::ConnectionError>([&] { make_store(section); });
  EXPECT_NE(none.find("password"), std::string::npos) << none;
}

TEST_F(RedisStoreTest, UnreachablePortFailsFast) {
  const int port = closed_port();
  boost::json::object section{{"host", "127.0.0.1"}, {"port", port}, {"connect_timeout", 2}};
  const auto t0 = Clock::now();
  const std::string msg = message_of<sdk::ConnectionError>([&] { make_store(section); });
  EXPECT_LT(Clock::now() - t0, 3s);
  EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << msg;
  EXPECT_NE(msg.find("start redis-server"), std::string::npos) << msg;

  boost::json::object missing{{"unix_socket", "/nonexistent/redis.sock"}};
  const std::string m2 = message_of<sdk::ConnectionError>([&] { make_store(missing); });
  EXPECT_NE(m2.find("unix:/nonexistent/redis.sock"), std::string::npos) << m2;
}

TEST_F(RedisStoreTest, WrongTypesAreConfigErrors) {
  const std::vector<std::pair<boost::json::object, std::string>> cases = {
      {{{"port", "6379"}}, "redis.port"},
      {{{"port", 70000}}, "redis.port"},
      {{{"host", 1}}, "redis.host"},
      {{{"password", true}}, "redis.password"},
      {{{"db", -1}}, "redis.db"},
      {{{"connect_timeout", "5"}}, "redis.connect_timeout"},
      {{{"connect_timeout", 0}}, "redis.connect_timeout"},
      {{{"pool_size", 1.5}}, "redis.pool_size"},
      {{{"unix_socket", boost::json::array{}}}, "redis.unix_socket"},
  };
  for (const auto& [section, key] : cases) {
    const std::string msg = message_of<sdk::ConfigError>([&] { make_store(section); });
    EXPECT_NE(msg.find(key), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected"), std::string::npos) << msg;
  }
}

TEST_F(RedisStoreTest, SelectsDb) {
  auto section = server_->redis_config();
  section["db"] = 3;
  auto db3 = make_store(section);
  using Args = std::vector<std::string_view>;
  db3->execute(Args{"SET", "where", "db3"}, 1s);
  EXPECT_TRUE(run({"GET", "where"}).is_nil());
  EXPECT_EQ(db3->execute(Args{"GET", "where"}, 1s).str, "db3");
  EXPECT_EQ(run({"SELECT", "3"}).str, "OK");  // only this pooled connection moves
  section["db"] = 100000;
  EXPECT_THROW(make_store(section), sdk::ConfigError);
}

TEST_F(RedisStoreTest, AuthenticatesAclUser) {
  ASSERT_EQ(run({"ACL", "SETUSER", "alice", "on", ">s3cret", "~*", "&*", "+@all"}).str, "OK");
  boost::json::object section{
      {"unix_socket", server_->unix_socket()}, {"username", "alice"}, {"password", "s3cret"}};
  auto alice = make_store(section);
  EXPECT_EQ(alice->execute(std::vector<std::string_view>{"ACL", "WHOAMI"}, 1s).str, "alice");
  section["password"] = "nope";
  const std::string msg = message_of<sdk::ConnectionError>([&] { make_store(section); });
  EXPECT_NE(msg.find("refused the credentials"), std::string::npos) << msg;
  run({"ACL", "DELUSER", "alice"});
}

TEST_F(RedisStoreTest, WorksOverTcp) {
  auto tcp = EmbeddedRedis::start({.tcp = true});
  auto store = make_store(tcp->redis_config());
  EXPECT_EQ(store->endpoint(), "redis 127.0.0.1:" + std::to_string(tcp->port()));
  using Args = std::vector<std::string_view>;
  EXPECT_EQ(store->execute(Args{"SET", "k", std::string_view("v\0v", 3)}, 1s).str, "OK");
  EXPECT_EQ(store->execute(Args{"GET", "k"}, 1s).str, std::string("v\0v", 3));
  EXPECT_TRUE(store->execute(Args{"BLPOP", "none", "0.1"}, 2s).is_nil());
}

TEST_F(RedisStoreTest, ServerGoneIsConnectionError) {
  auto own = EmbeddedRedis::start();
  auto store = make_store(own->redis_config());
  using Args = std::vector<std::string_view>;
  EXPECT_EQ(store->execute(Args{"PING"}, 1s).str, "PONG");
  own.reset();
  const std::string msg =
      message_of<sdk::ConnectionError>([&] { store->execute(Args{"PING"}, 1s); });
  EXPECT_NE(msg.find("redis at unix:"), std::string::npos) << msg;
}

}  // namespace

namespace {

// The shared library exports the factory the core's loader imports.
TEST(RedisPluginTest, LoadsThroughItsExportedFactory) {
  auto server = EmbeddedRedis::start();
  const boost::dll::fs::path path(LITHOPS_REDIS_PLUGIN_PATH);
  auto kind = boost::dll::import_alias<sdk::StringFn>(path, "lithops_plugin_kind");
  auto name = boost::dll::import_alias<sdk::StringFn>(path, "lithops_plugin_name");
  auto abi = boost::dll::import_alias<sdk::AbiFn>(path, "lithops_plugin_abi_version");
  EXPECT_STREQ(kind(), "state");
  EXPECT_STREQ(name(), "redis");
  EXPECT_EQ(abi(), sdk::kAbiVersion);
  auto create =
      boost::dll::import_alias<sdk::StateStoreFactory>(path, "lithops_create_state_store");
  const boost::json::object section = server->redis_config();
  sdk::PluginContext ctx;
  ctx.section = &section;
  std::unique_ptr<sdk::StateStore> store = create(ctx);
  EXPECT_EQ(store->execute(std::vector<std::string_view>{"PING"}, 1s).str, "PONG");
  store.reset();  // before `create` (and with it the library) goes
}

}  // namespace
