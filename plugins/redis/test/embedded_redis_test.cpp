// EmbeddedRedis against the real redis-server: lifecycle, cleanup, and the watchdog that stops the
// server when the driver dies.
#include "embedded_redis.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "lithops/multiprocessing/errors.hpp"

namespace {

using lithops::multiprocessing::detail::EmbeddedRedis;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// Polls `done` for up to `limit`; returns whether it became true.
template <typename Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// AUTH + PING through hiredis; true if the server answered PONG.
bool pings(const EmbeddedRedis& r) {
  const timeval tv{2, 0};
  redisContext* c = r.unix_socket().empty()
                        ? redisConnectWithTimeout("127.0.0.1", r.port(), tv)
                        : redisConnectUnixWithTimeout(r.unix_socket().c_str(), tv);
  bool ok = false;
  if (c != nullptr && c->err == 0) {
    const char* auth[] = {"AUTH", r.password().c_str()};
    auto* a = static_cast<redisReply*>(redisCommandArgv(c, 2, auth, nullptr));
    const char* ping[] = {"PING"};
    auto* p =
        a != nullptr ? static_cast<redisReply*>(redisCommandArgv(c, 1, ping, nullptr)) : nullptr;
    ok = p != nullptr && p->type == REDIS_REPLY_STATUS && std::string(p->str) == "PONG";
    if (a != nullptr) freeReplyObject(a);
    if (p != nullptr) freeReplyObject(p);
  }
  if (c != nullptr) redisFree(c);
  return ok;
}

TEST(EmbeddedRedisTest, StartsPrivateServerAndStopRemovesEverything) {
  auto redis = EmbeddedRedis::start();
  const pid_t pid = redis->pid();
  const pid_t watchdog = redis->watchdog_pid();
  const std::string dir = redis->directory();
  ASSERT_GT(pid, 0);
  ASSERT_GT(watchdog, 0);
  EXPECT_TRUE(process_alive(pid));
  EXPECT_EQ(redis->port(), 0);
  EXPECT_EQ(fs::path(redis->unix_socket()).parent_path(), fs::path(dir));
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(redis->password().size(), 32u);
  EXPECT_EQ(redis->password().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(pings(*redis));
  const auto cfg = redis->redis_config();
  EXPECT_EQ(cfg.at("unix_socket").as_string(), redis->unix_socket());
  EXPECT_EQ(cfg.at("password").as_string(), redis->password());
  EXPECT_FALSE(cfg.contains("host"));

  redis.reset();
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(process_alive(watchdog));
  EXPECT_FALSE(fs::exists(dir));
}

TEST(EmbeddedRedisTest, TcpModeListensOnLoopbackPort) {
  auto redis = EmbeddedRedis::start({.tcp = true});
  EXPECT_TRUE(redis->unix_socket().empty());
  EXPECT_GT(redis->port(), 0);
  EXPECT_TRUE(pings(*redis));
  const auto cfg = redis->redis_config();
  EXPECT_EQ(cfg.at("host").as_string(), "127.0.0.1");
  EXPECT_EQ(cfg.at("port").as_int64(), redis->port());
  EXPECT_FALSE(cfg.contains("unix_socket"));
}

TEST(EmbeddedRedisTest, SeveralInstancesStartConcurrentlyAndStopIndependently) {
  constexpr int kCount = 4;
  std::vector<std::unique_ptr<EmbeddedRedis>> servers(kCount);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCount; ++i) {
    threads.emplace_back([&servers, i] { servers[i] = EmbeddedRedis::start(); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(servers[i]);
    EXPECT_TRUE(pings(*servers[i]));
    for (int j = 0; j < i; ++j) {
      EXPECT_NE(servers[i]->password(), servers[j]->password());
      EXPECT_NE(servers[i]->unix_socket(), servers[j]->unix_socket());
    }
  }
  // Stopping the first must not wait for the others: a later watchdog must not have kept the
  // first one's keepalive pipe open.
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t first = servers[0]->pid();
  servers[0].reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_FALSE(process_alive(first));
  for (int i = 1; i < kCount; ++i) EXPECT_TRUE(pings(*servers[i]));
}

TEST(EmbeddedRedisTest, MissingRedisServerSaysHowToInstallIt) {
  const char* old = std::getenv("PATH");
  const std::string saved = old != nullptr ? old : "";
  char templ[] = "/tmp/lithops-empty-path-XXXXXX";
  ASSERT_NE(::mkdtemp(templ), nullptr);
  ::setenv("PATH", templ, 1);
  try {
    EmbeddedRedis::start();
    ADD_FAILURE() << "start() succeeded without redis-server on PATH";
  } catch (const lithops::multiprocessing::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("apt-get install redis-server"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("`redis` section"), std::string::npos) << e.what();
  }
  ::setenv("PATH", saved.c_str(), 1);
  ::rmdir(templ);
}

TEST(EmbeddedRedisTest, TooShortStartTimeoutIsConfigError) {
  EXPECT_THROW(EmbeddedRedis::start({.start_timeout = 0ms}), lithops::multiprocessing::ConfigError);
}

TEST(EmbeddedRedisTest, WatchdogCleansUpWhenServerDiesByItself) {
  auto redis = EmbeddedRedis::start();
  const std::string dir = redis->directory();
  ASSERT_EQ(::kill(redis->pid(), SIGKILL), 0);
  EXPECT_TRUE(eventually([&] { return !fs::exists(dir); }));
  const pid_t watchdog = redis->watchdog_pid();
  redis.reset();  // the watchdog already exited: the destructor must just reap it
  EXPECT_FALSE(process_alive(watchdog));
}

// The driver is SIGKILLed: no destructor runs, yet the server and its directory must go.
TEST(EmbeddedRedisTest, ServerDiesWhenDriverIsKilled) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    try {
      auto redis = EmbeddedRedis::start();
      const pid_t pid = redis->pid();
      const std::string dir = redis->directory();
      const std::size_t len = dir.size();
      (void)!::write(fds[1], &pid, sizeof(pid));
      (void)!::write(fds[1], &len, sizeof(len));
      (void)!::write(fds[1], dir.data(), len);
      redis.release();  // never destroyed: the parent kills us
      while (true) ::pause();
    } catch (...) {
      ::_exit(3);
    }
  }
  ::close(fds[1]);
  pid_t pid = 0;
  std::size_t len = 0;
  ASSERT_EQ(::read(fds[0], &pid, sizeof(pid)), static_cast<ssize_t>(sizeof(pid)));
  ASSERT_EQ(::read(fds[0], &len, sizeof(len)), static_cast<ssize_t>(sizeof(len)));
  std::string dir(len, '\0');
  ASSERT_EQ(::read(fds[0], dir.data(), len), static_cast<ssize_t>(len));
  ::close(fds[0]);
  ASSERT_TRUE(process_alive(pid));
  ASSERT_TRUE(fs::exists(dir));

  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(eventually([&] { return !process_alive(pid); }))
      << "redis-server outlived the driver";
  EXPECT_TRUE(eventually([&] { return !fs::exists(dir); })) << dir << " was left behind";
}

}  // namespace
