// RedisStore over TLS against real redis-servers (Debian's is built with TLS) whose certificates
// are made at test time (tests/support/tls_redis.*): round trips, the direct bulk read, pub/sub,
// mutual TLS, and each misconfiguration's error naming the setting to fix.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "embedded_redis.hpp"
#include "lithops/sdk/errors.hpp"
#include "redis_store.hpp"
#include "store_config_test_util.hpp"
#include "tls_redis.hpp"

namespace {

namespace sdk = lithops::sdk;
namespace json = boost::json;
using lithops::multiprocessing::detail::EmbeddedRedis;
using lithops::plugins::redis::RedisStore;
using lithops::test::TestPki;
using lithops::test::TlsRedis;
using lithops::test::TlsRedisOptions;
using namespace std::chrono_literals;

using lithops::plugins::redis::test::error_of;
using lithops::plugins::redis::test::has;
using lithops::plugins::redis::test::make_store;

// The messages users see, in the test log.
void show(const std::string& msg) { std::printf("  message: %s\n", msg.c_str()); }

class RedisTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TestPki();
    server_ = new TlsRedis(
        {.cert_file = pki_->server_cert(), .key_file = pki_->server_key(), .ca_file = pki_->ca()});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete pki_;
  }

  static json::object config() { return server_->redis_config(pki_->ca()); }

  static inline TestPki* pki_ = nullptr;
  static inline TlsRedis* server_ = nullptr;
};

TEST_F(RedisTlsTest, RedissUrlRunsCommands) {
  auto store = make_store(config());
  EXPECT_EQ(store->endpoint(), "redis localhost:" + std::to_string(server_->port()) + " (TLS)");
  EXPECT_EQ(store->execute(std::vector<std::string_view>{"SET", "tls:k", "v"}, 2s).str, "OK");
  EXPECT_EQ(store->execute(std::vector<std::string_view>{"GET", "tls:k"}, 2s).str, "v");
  // The server really is TLS-only: no plain port.
  const auto port = store->execute(std::vector<std::string_view>{"CONFIG", "GET", "port"}, 2s);
  ASSERT_EQ(port.elements.size(), 2U);
  EXPECT_EQ(port.elements[1].str, "0");
}

TEST_F(RedisTlsTest, TlsObjectWithHostAndPortTurnsTlsOn) {
  const json::object section{{"host", "127.0.0.1"},  // checked against the IP SAN
                             {"port", server_->port()},
                             {"password", server_->password()},
                             {"tls", {{"ca_file", pki_->ca()}}}};
  auto store = make_store(section);
  EXPECT_EQ(store->execute(std::vector<std::string_view>{"PING"}, 2s).str, "PONG");
  // A worker gets the section as given (no url to resolve) and connects with it.
  EXPECT_EQ(store->connection_config(), section);
}

TEST_F(RedisTlsTest, WorkerSectionFromAUrlKeepsTls) {
  auto store = make_store(config());
  const json::object worker = store->connection_config();
  EXPECT_FALSE(worker.contains("url"));
  EXPECT_EQ(worker.at("host"), "localhost");
  EXPECT_EQ(worker.at("port"), server_->port());
  EXPECT_TRUE(worker.at("tls").is_object());
  auto again = make_store(worker);
  EXPECT_EQ(again->execute(std::vector<std::string_view>{"PING"}, 2s).str, "PONG");
}

TEST_F(RedisTlsTest, PipelineAndDirectBulkReadOfAMultiMiBValue) {
  auto store = make_store(config());
  std::string big(5 * 1024 * 1024 + 123, '\0');
  std::mt19937 rng(7);
  for (auto& c : big) c = static_cast<char>(rng());
  const std::vector<sdk::Command> put{{"SET", "tls:big", big}, {"INCR", "tls:n"}, {"PING"}};
  const auto replies = store->execute_pipeline(put, 10s);
  ASSERT_EQ(replies.size(), 3U);
  EXPECT_EQ(replies[0].str, "OK");
  EXPECT_EQ(replies[1].integer, 1);
  EXPECT_EQ(replies[2].str, "PONG");

  // GET through hiredis' reader (decrypted records fed to it).
  const auto got = store->execute_pipeline(std::vector<sdk::Command>{{"GET", "tls:big"}}, 10s);
  EXPECT_TRUE(got[0].str == big);

  // The direct path: the payload decrypted straight into the caller's buffers; the second one is
  // short (the rest goes to scratch), a nil and a non-string reply follow in the same pipeline.
  std::string whole(big.size(), '#');
  std::string head(1000, '#');
  std::string none(8, '#');
  const std::vector<std::span<std::byte>> into{std::as_writable_bytes(std::span<char>(whole)),
                                               std::as_writable_bytes(std::span<char>(head)),
                                               std::as_writable_bytes(std::span<char>(none))};
  const std::vector<sdk::Command> gets{
      {"GET", "tls:big"}, {"GET", "tls:big"}, {"GET", "tls:missing"}, {"INCR", "tls:n"}};
  for (int round = 0; round < 2; ++round) {  // the second round reuses the pooled connection
    const auto r = store->execute_pipeline_into(gets, into, 10s);
    ASSERT_EQ(r.size(), 4U);
    EXPECT_EQ(r[0].integer, static_cast<long long>(big.size()));
    EXPECT_TRUE(whole == big);
    EXPECT_EQ(r[1].integer, static_cast<long long>(big.size()));
    EXPECT_EQ(head, big.substr(0, head.size()));
    EXPECT_TRUE(r[2].is_nil());
    EXPECT_EQ(none, "########");
    EXPECT_EQ(r[3].integer, 2 + round);
  }
}

TEST_F(RedisTlsTest, ConcurrentCallersShareTheTlsContext) {
  auto store = make_store(config());
  store->execute(std::vector<std::string_view>{"DEL", "tls:counter"}, 2s);
  constexpr int kThreads = 8;
  constexpr int kEach = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        store->execute(std::vector<std::string_view>{"INCR", "tls:counter"}, 5s);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store->execute(std::vector<std::string_view>{"GET", "tls:counter"}, 2s).str,
            std::to_string(kThreads * kEach));
}

TEST_F(RedisTlsTest, SubscriptionReceivesAndTimesOut) {
  auto store = make_store(config());
  const std::vector<std::string> channels{"tls:chan"};
  auto sub = store->subscribe(channels);
  EXPECT_FALSE(sub->next(50ms).has_value());
  for (int i = 0; i < 3; ++i) {
    store->execute(std::vector<std::string_view>{"PUBLISH", "tls:chan", std::to_string(i)}, 2s);
  }
  // Three messages may arrive in one TLS record: the later ones must not wait for poll().
  for (int i = 0; i < 3; ++i) {
    auto m = sub->next(5s);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->payload, std::to_string(i));
  }
}

TEST_F(RedisTlsTest, ClientTimeoutIsAConnectionError) {
  auto store = make_store(config());
  const auto t0 = std::chrono::steady_clock::now();
  try {
    store->execute(std::vector<std::string_view>{"BLPOP", "tls:nothing", "5"}, 200ms);
    ADD_FAILURE() << "expected a timeout";
  } catch (const sdk::ConnectionError& e) {
    EXPECT_TRUE(has(e.what(), "timed out")) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(store->execute(std::vector<std::string_view>{"PING"}, 2s).str, "PONG");
}

TEST_F(RedisTlsTest, WrongCaNamesCaFile) {
  auto section = config();
  section["tls"].as_object()["ca_file"] = pki_->other_ca();
  const auto msg = error_of<sdk::ConnectionError>(section);
  show(msg);
  EXPECT_TRUE(has(msg, "`redis.tls.ca_file`")) << msg;
  EXPECT_TRUE(has(msg, "not signed by a CA")) << msg;
  EXPECT_FALSE(has(msg, server_->password())) << msg;
}

TEST_F(RedisTlsTest, VerifyFalseAcceptsAnUntrustedCertificate) {
  auto section = config();
  section["tls"] = json::object{{"ca_file", pki_->other_ca()}, {"verify", false}};
  EXPECT_EQ(make_store(section)->execute(std::vector<std::string_view>{"PING"}, 2s).str, "PONG");
}

TEST_F(RedisTlsTest, HostnameMismatchNamesServerName) {
  auto section = config();
  section["tls"].as_object()["server_name"] = "redis.elsewhere.example";
  const auto msg = error_of<sdk::ConnectionError>(section);
  show(msg);
  EXPECT_TRUE(has(msg, "`redis.tls.server_name`")) << msg;
  EXPECT_TRUE(has(msg, "redis.elsewhere.example")) << msg;
}

TEST_F(RedisTlsTest, ExpiredCertificateSaysSo) {
  TlsRedis expired(
      {.cert_file = pki_->expired_cert(), .key_file = pki_->expired_key(), .ca_file = pki_->ca()});
  const auto msg = error_of<sdk::ConnectionError>(expired.redis_config(pki_->ca()));
  show(msg);
  EXPECT_TRUE(has(msg, "expired")) << msg;
  EXPECT_TRUE(has(msg, "tls-cert-file")) << msg;
}

TEST_F(RedisTlsTest, PlainServerBehindRedissNamesTheUrl) {
  auto plain = EmbeddedRedis::start({.tcp = true});
  const json::object section{{"url", "rediss://127.0.0.1:" + std::to_string(plain->port())},
                             {"password", plain->password()},
                             {"connect_timeout", 1},
                             {"tls", {{"ca_file", pki_->ca()}}}};
  const auto msg = error_of<sdk::ConnectionError>(section);
  show(msg);
  EXPECT_TRUE(has(msg, "does not speak TLS")) << msg;
  EXPECT_TRUE(has(msg, "redis://")) << msg;
}

TEST_F(RedisTlsTest, SilentServerHandshakeObeysTheConnectTimeout) {
  // A socket that listens but never answers: connect() succeeds (the backlog), the handshake
  // would wait forever without its deadline.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const json::object section{{"url", "rediss://127.0.0.1:" + std::to_string(ntohs(addr.sin_port))},
                             {"connect_timeout", 0.3},
                             {"tls", {{"ca_file", pki_->ca()}}}};
  const auto t0 = std::chrono::steady_clock::now();
  const auto msg = error_of<sdk::ConnectionError>(section);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  show(msg);
  EXPECT_TRUE(has(msg, "timed out")) << msg;
  EXPECT_TRUE(has(msg, "`redis.connect_timeout`")) << msg;
  ::close(fd);
}

TEST_F(RedisTlsTest, MutualTls) {
  TlsRedis mtls({.cert_file = pki_->server_cert(),
                 .key_file = pki_->server_key(),
                 .ca_file = pki_->ca(),
                 .auth_clients = true});
  auto store = make_store(mtls.redis_config(pki_->ca(), pki_->client_cert(), pki_->client_key()));
  EXPECT_EQ(store->execute(std::vector<std::string_view>{"PING"}, 2s).str, "PONG");
  const std::vector<sdk::Command> cmds{{"SET", "m", "1"}, {"GET", "m"}};
  EXPECT_EQ(store->execute_pipeline(cmds, 2s)[1].str, "1");

  // Without a client certificate the server refuses: the message names the settings to add.
  const auto msg = error_of<sdk::ConnectionError>(mtls.redis_config(pki_->ca()));
  show(msg);
  EXPECT_TRUE(has(msg, "`redis.tls.cert_file`")) << msg;
  EXPECT_TRUE(has(msg, "`redis.tls.key_file`")) << msg;
}

TEST_F(RedisTlsTest, BadTlsFilesAndKeysAreConfigErrors) {
  auto with_tls = [&](json::object tls) {
    auto section = config();
    section["tls"] = std::move(tls);
    return section;
  };
  auto msg = error_of<sdk::ConfigError>(with_tls({{"ca_file", "/nonexistent/ca.pem"}}));
  EXPECT_TRUE(has(msg, "`redis.tls.ca_file` /nonexistent/ca.pem")) << msg;
  msg = error_of<sdk::ConfigError>(with_tls({{"ca_file", pki_->server_key()}}));
  EXPECT_TRUE(has(msg, "`redis.tls.ca_file`")) << msg;
  EXPECT_TRUE(has(msg, "no usable PEM certificate")) << msg;
  msg = error_of<sdk::ConfigError>(with_tls({{"cert_file", pki_->client_cert()}}));
  EXPECT_TRUE(has(msg, "`cert_file` and `key_file` go together")) << msg;
  msg = error_of<sdk::ConfigError>(
      with_tls({{"cert_file", pki_->client_cert()}, {"key_file", pki_->server_key()}}));
  EXPECT_TRUE(has(msg, "is not the private key of `redis.tls.cert_file`")) << msg;
  msg = error_of<sdk::ConfigError>(with_tls({{"ca_flie", pki_->ca()}}));
  EXPECT_TRUE(has(msg, "unknown key `redis.tls.ca_flie`")) << msg;
  msg = error_of<sdk::ConfigError>(with_tls({{"verify", "yes"}}));
  EXPECT_TRUE(has(msg, "`redis.tls.verify`")) << msg;
  msg = error_of<sdk::ConfigError>(
      json::object{{"unix_socket", "/tmp/x.sock"}, {"tls", json::object{}}});
  EXPECT_TRUE(has(msg, "Unix socket")) << msg;
  msg = error_of<sdk::ConfigError>(json::object{{"url", "rediss://"}});
  EXPECT_TRUE(has(msg, "no host")) << msg;
}

}  // namespace
