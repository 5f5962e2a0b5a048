// The nanomsg transport without the core: both ends in this process, the rendezvous in a real
// redis-server through the redis StateStore.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/protocol/pair0/pair.h>
#include <nng/protocol/pair1/pair.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>

#include <boost/dll/import.hpp>
#include <boost/json.hpp>

#include "embedded_redis.hpp"
#include "lithops/sdk/errors.hpp"
#include "lithops/sdk/plugin.hpp"
#include "nanomsg_config.hpp"
#include "nanomsg_transport.hpp"
#include "process_probe.hpp"
#include "redis_store.hpp"
#include "timing.hpp"

// NNG 1.5.2 leaks a message still queued on a pipe when the socket closes (nanomsg/nng#1713,
// fixed upstream later); it only happens when the peer left while a close marker was in flight.
// Tell LeakSanitizer (ASan builds only; the hook is unused otherwise).
extern "C" const char* __lsan_default_suppressions() { return "leak:libnng.so\n"; }

namespace {
namespace sdk = lithops::sdk;
using lithops::multiprocessing::detail::EmbeddedRedis;
using lithops::plugins::nanomsg::NanomsgTransport;
using lithops::plugins::nanomsg::parse_options;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

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

// Every NanomsgTest runs once per engine: "direct" (the default; same-host peers connect over a
// Unix socket), "direct_tcp" (the same with ipc off: TCP only) and "nng".
class NanomsgTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { server_ = EmbeddedRedis::start(); }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    redis_section_ = server_->redis_config();
    sdk::PluginContext store_ctx;
    store_ctx.config = &redis_section_;
    store_ctx.section = &redis_section_;
    store_ = std::make_unique<lithops::plugins::redis::RedisStore>(store_ctx);
    std::vector<std::string_view> flush{"FLUSHALL"};
    store_->execute(flush, 5s);
    make_transport(boost::json::object{{"connect_timeout", 2}, {"linger", 2}});
    transport_->create(kPipe);
    a_ = transport_->attach(kPipe, 0);
    b_ = transport_->attach(kPipe, 1);
  }

  void make_transport(boost::json::object section) {
    section_ = std::move(section);
    section_["engine"] = GetParam() == "nng" ? "nng" : "direct";
    section_["ipc"] = GetParam() != "direct_tcp";
    sdk::PluginContext ctx;
    ctx.store = store_.get();
    ctx.section = &section_;
    ctx.key_prefix = "t:";
    ctx.expiry_seconds = 120;
    transport_ = std::make_unique<NanomsgTransport>(ctx);
  }

  sdk::Reply run(std::vector<std::string_view> args) { return store_->execute(args, 5s); }

  static constexpr const char* kPipe = "t:{pipe:1}";
  static inline std::unique_ptr<EmbeddedRedis> server_;
  boost::json::object redis_section_, section_;
  std::unique_ptr<sdk::StateStore> store_;
  std::unique_ptr<NanomsgTransport> transport_;
  std::unique_ptr<sdk::PipeEnd> a_, b_;
};

TEST_P(NanomsgTest, MessagesArriveInOrderBothWays) {
  a_->send("one");  // a is used first: it listens and publishes its address
  a_->send("");
  a_->send(std::string("bin\0ary", 7));
  b_->send("back");
  EXPECT_EQ(b_->recv(5s), "one");
  EXPECT_EQ(b_->recv(5s), "");
  EXPECT_EQ(b_->recv(5s), std::string("bin\0ary", 7));
  EXPECT_EQ(a_->recv(std::nullopt), "back");
  EXPECT_EQ(run({"LINDEX", std::string(kPipe) + ":nn:addr", "0"}).str.rfind("tcp://127.0.0.1:", 0),
            0u);
  EXPECT_EQ(run({"GET", std::string(kPipe) + ":nn:listener"}).str, "0");
}

TEST_P(NanomsgTest, RecvAndPollTimeOut) {
  EXPECT_EQ(b_->recv(0ms), std::nullopt);
  auto t0 = Clock::now();
  EXPECT_EQ(b_->recv(200ms), std::nullopt);
  EXPECT_GE(Clock::now() - t0, 190ms);
  t0 = Clock::now();
  EXPECT_FALSE(b_->poll(150ms));
  EXPECT_GE(Clock::now() - t0, 140ms);
  a_->send("x");
  EXPECT_TRUE(b_->poll(5s));
  EXPECT_TRUE(b_->poll(0ms));  // not consumed
  EXPECT_EQ(b_->recv(0ms), "x");
  EXPECT_FALSE(b_->poll(0ms));
}

TEST_P(NanomsgTest, CloseDeliversEverythingThenEof) {
  for (int i = 0; i < 100; ++i) a_->send(std::to_string(i));
  // b connects only when first used, by a late reader (its 300 ms delay is the work): close()
  // lingers for it, so nothing is dropped with the socket, and returns only after b came.
  std::atomic<Clock::rep> peer_came{0};
  std::thread reader([&] {
    std::this_thread::sleep_for(300ms);
    peer_came = Clock::now().time_since_epoch().count();
    for (int i = 0; i < 100; ++i) EXPECT_EQ(b_->recv(5s), std::to_string(i));
    EXPECT_THROW(b_->recv(5s), sdk::PipeClosedError);
  });
  a_->close();
  const auto closed = Clock::now().time_since_epoch().count();
  reader.join();
  EXPECT_NE(peer_came.load(), 0) << "close() returned before the peer came";
  EXPECT_GE(closed, peer_came.load()) << "close() returned before the peer came";
  a_.reset();
  EXPECT_THROW(b_->recv(std::nullopt), sdk::PipeClosedError);
  EXPECT_TRUE(b_->poll(0ms));
  EXPECT_THROW(b_->send("nobody"), sdk::PipeClosedError);
}

TEST_P(NanomsgTest, CloseGivesUpAfterLingerWhenThePeerNeverComes) {
  a_->send("lost");
  const auto t0 = Clock::now();
  a_->close();  // linger 2 s
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, 1900ms);
  EXPECT_LT(took, 2s + lithops::test::late_slack_ms());
  EXPECT_THROW(b_->recv(5s), sdk::PipeClosedError);  // the flag: EOF at once, not a hang
}

TEST_P(NanomsgTest, ClosingAnUnusedEndGivesTheListeningPeerEof) {
  std::thread reader([&] { EXPECT_THROW(b_->recv(10s), sdk::PipeClosedError); });
  // b listens once it published its address.
  EXPECT_TRUE(lithops::test::eventually([&] {
    return run({"EXISTS", std::string(kPipe) + ":nn:addr"}).integer == 1;
  }));
  a_->close();
  reader.join();
}

TEST_P(NanomsgTest, AnEndAttachedAfterThePeerClosedGetsEof) {
  a_->close();  // never connected: leaves the flag
  EXPECT_THROW(b_->recv(5s), sdk::PipeClosedError);
}

TEST_P(NanomsgTest, SixtyFourMiBMessage) {
  std::string big(64u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i >> 12);
  a_->send(big);
  auto got = b_->recv(30s);
  ASSERT_TRUE(got);
  EXPECT_TRUE(*got == big);
}

TEST_P(NanomsgTest, UnreachablePeerNamesTheRedislistFallback) {
  // A listener that claimed the role and published an address nobody listens on.
  run({"SET", std::string(kPipe) + ":nn:listener", "1"});
  run({"RPUSH", std::string(kPipe) + ":nn:addr",
       "tcp://127.0.0.1:" + std::to_string(closed_port())});
  const auto t0 = Clock::now();
  try {
    a_->send("x");
    FAIL() << "expected ConnectionError";
  } catch (const sdk::ConnectionError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot reach the other end"), std::string::npos) << what;
    EXPECT_NE(what.find("PIPE_CONNECTION_TYPE"), std::string::npos) << what;
    EXPECT_NE(what.find("redislist"), std::string::npos) << what;
  }
  EXPECT_GE(Clock::now() - t0, 1900ms);  // connect_timeout 2 s
}

TEST_P(NanomsgTest, PortRangeIsHonoured) {
  const int port = closed_port();
  make_transport(boost::json::object{{"port_min", port}, {"port_max", port}});
  a_ = transport_->attach(kPipe, 0);
  b_ = transport_->attach(kPipe, 1);
  a_->send("p");
  EXPECT_EQ(b_->recv(5s), "p");
  EXPECT_EQ(run({"LINDEX", std::string(kPipe) + ":nn:addr", "0"}).str,
            "tcp://127.0.0.1:" + std::to_string(port));
}

TEST_P(NanomsgTest, DestroyRemovesTheRendezvousKeys) {
  a_->send("x");
  EXPECT_EQ(b_->recv(5s), "x");
  EXPECT_GT(run({"TTL", std::string(kPipe) + ":nn:addr"}).integer, 0);
  a_->close();
  b_->close();
  transport_->destroy(kPipe);
  EXPECT_EQ(run({"EXISTS", std::string(kPipe) + ":nn:addr", std::string(kPipe) + ":nn:listener",
                 std::string(kPipe) + ":nn:eof0"})
                .integer,
            0);
}

// ---- the direct engine: wire compatibility with libnng, and how it fails --------------------

// Run over both wires of the direct engine: "direct" (Unix socket) and "direct_tcp".
class NanomsgDirectTest : public NanomsgTest {
 protected:
  std::string address() { return run({"LINDEX", std::string(kPipe) + ":nn:addr", "0"}).str; }
};

// A libnng socket for the other side of the wire.
struct NngSocket {
  explicit NngSocket(bool pair1 = true) {
    EXPECT_EQ(pair1 ? nng_pair1_open(&socket) : nng_pair0_open(&socket), 0);
    nng_socket_set_size(socket, NNG_OPT_RECVMAXSZ, 0);
    nng_socket_set_ms(socket, NNG_OPT_RECVTIMEO, 10000);
    nng_socket_set_ms(socket, NNG_OPT_SENDTIMEO, 10000);
  }
  ~NngSocket() { nng_close(socket); }
  NngSocket(const NngSocket&) = delete;
  NngSocket& operator=(const NngSocket&) = delete;

  int send(const std::string& message) {
    return nng_send(socket, const_cast<char*>(message.data()), message.size(), 0);
  }
  std::optional<std::string> recv() {
    char* buf = nullptr;
    std::size_t size = 0;
    if (const int rv = nng_recv(socket, &buf, &size, NNG_FLAG_ALLOC); rv != 0) {
      return std::nullopt;
    }
    std::string message(buf, size);
    nng_free(buf, size);
    return message;
  }
  nng_socket socket = NNG_SOCKET_INITIALIZER;
};

std::string pattern(std::size_t size, int seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; i += 997) s[i] = static_cast<char>((i >> 10) + seed);
  return s;
}

// Bodies are our frames: a type byte ('D' data, 'E' close marker), then the message.
TEST_P(NanomsgDirectTest, AnNngPair1SocketDialsOurListener) {
  a_->send("hello");  // a listens; the message waits for a peer
  NngSocket nng;
  ASSERT_EQ(nng_dial(nng.socket, address().c_str(), nullptr, 0), 0);
  EXPECT_EQ(nng.recv(), "Dhello");
  const std::string big = pattern(1u << 20, 1);
  a_->send(big);
  EXPECT_EQ(nng.recv(), "D" + big);
  ASSERT_EQ(nng.send("Dworld"), 0);
  ASSERT_EQ(nng.send("D" + big), 0);
  EXPECT_EQ(a_->recv(10s), "world");
  EXPECT_EQ(a_->recv(10s), big);
  ASSERT_EQ(nng.send("E"), 0);
  EXPECT_THROW(a_->recv(10s), sdk::PipeClosedError);
}

TEST_P(NanomsgDirectTest, OurEndDialsAnNngPair1Listener) {
  NngSocket nng;
  nng_listener listener;
  ASSERT_EQ(nng_listen(nng.socket, "tcp://127.0.0.1:0", &listener, 0), 0);
  int port = 0;
  ASSERT_EQ(nng_listener_get_int(listener, NNG_OPT_TCP_BOUND_PORT, &port), 0);
  // The NNG socket plays end 1, which claimed the listener role and published its address.
  run({"SET", std::string(kPipe) + ":nn:listener", "1"});
  run({"RPUSH", std::string(kPipe) + ":nn:addr", "tcp://127.0.0.1:" + std::to_string(port)});
  a_->send("ping");
  a_->send("");
  EXPECT_EQ(nng.recv(), "Dping");
  EXPECT_EQ(nng.recv(), "D");
  ASSERT_EQ(nng.send("Dpong"), 0);
  EXPECT_EQ(a_->recv(10s), "pong");
  const std::string big = pattern(3u << 20, 2);
  ASSERT_EQ(nng.send("D" + big), 0);
  a_->send(big);
  EXPECT_EQ(a_->recv(10s), big);
  EXPECT_EQ(nng.recv(), "D" + big);
  a_->close();
  EXPECT_EQ(nng.recv(), "E");
}

TEST_P(NanomsgDirectTest, APeerOfAnotherProtocolIsRefused) {
  a_->send("secret");
  NngSocket pair0(false);
  nng_socket_set_ms(pair0.socket, NNG_OPT_RECVTIMEO, 500);
  nng_dialer dialer;
  ASSERT_EQ(nng_dialer_create(&dialer, pair0.socket, address().c_str()), 0);
  ASSERT_EQ(nng_dialer_start(dialer, NNG_FLAG_NONBLOCK), 0);
  EXPECT_EQ(pair0.recv(), std::nullopt);  // the handshake names PAIR v0: no connection
  EXPECT_EQ(a_->recv(100ms), std::nullopt);
}

// Both ends write 64 MiB at once, then read (as two processes that each send, then receive,
// would): far more than the socket buffers hold, so each sender must drain what arrives while
// its socket is full, or neither would finish.
TEST_P(NanomsgDirectTest, BothEndsSend64MiBAtOnceWithoutDeadlock) {
  a_->send("a");
  ASSERT_EQ(b_->recv(10s), "a");  // connected, so the sends below go straight to the socket
  const std::string from_a = pattern(64u << 20, 3), from_b = pattern(64u << 20, 4);
  std::optional<std::string> at_a, at_b;
  std::thread ta([&] {
    a_->send(from_a);
    at_a = a_->recv(60s);
  });
  std::thread tb([&] {
    b_->send(from_b);
    at_b = b_->recv(60s);
  });
  ta.join();
  tb.join();
  ASSERT_TRUE(at_b && at_a);
  EXPECT_TRUE(*at_b == from_a);
  EXPECT_TRUE(*at_a == from_b);
}

TEST_P(NanomsgDirectTest, CloseWhileAnotherThreadWaitsInRecv) {
  a_->send("x");
  ASSERT_EQ(b_->recv(10s), "x");
  std::atomic<pid_t> waiter_tid{0};
  std::thread waiter([&] {
    waiter_tid = ::gettid();
    const auto t0 = Clock::now();
    EXPECT_THROW(b_->recv(std::nullopt), sdk::PipeClosedError);
    EXPECT_LT(Clock::now() - t0, 20s);
  });
  // The waiter is in recv once its thread sleeps in the kernel (nothing else blocks it).
  EXPECT_TRUE(lithops::test::eventually(
      [&] { return waiter_tid != 0 && lithops::test::thread_sleeping(waiter_tid); }));
  b_->close();
  waiter.join();
  EXPECT_THROW(a_->recv(10s), sdk::PipeClosedError);  // and the peer sees EOF
}

// The peer's process dies (a raw SP peer in a child process, killed): EOF, not a hang, also for
// a recv without timeout (on a Unix socket, a blocking read). The child speaks the wire format
// by hand: over the Unix socket ("direct") or TCP ("direct_tcp").
TEST_P(NanomsgDirectTest, APeerProcessThatDiesIsEofNotAHang) {
  EXPECT_FALSE(a_->poll(0ms));  // a listens
  const std::string url = address();
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  const bool ipc = GetParam() == "direct";
  const std::string path = ipc ? run({"GET", std::string(kPipe) + ":nn:ipc"}).str.substr(6) : "";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only system calls here: SP header for PAIR v1, one 'D' frame, then wait to be killed.
    int fd = -1;
    if (ipc) {
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
      fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) ::_exit(1);
    } else {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<std::uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) ::_exit(1);
    }
    const unsigned char hello[8] = {0, 'S', 'P', 0, 0, 0x11, 0, 0};
    const unsigned char frame[] = {1, 0, 0, 0,   0,   0,   0,   0,   10, 0,
                                   0, 0, 1, 'D', 'a', 'l', 'i', 'v', 'e'};
    const std::size_t skip = ipc ? 0 : 1;  // TCP: no message-type byte
    if (::write(fd, hello, sizeof(hello)) != 8) ::_exit(1);
    if (::write(fd, frame + skip, sizeof(frame) - skip) !=
        static_cast<ssize_t>(sizeof(frame) - skip)) {
      ::_exit(1);
    }
    ::sleep(60);
    ::_exit(0);
  }
  EXPECT_EQ(a_->recv(10s), "alive");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  std::promise<bool> eof;
  auto got = eof.get_future();
  std::thread reader([&] {
    try {
      a_->recv(std::nullopt);
      eof.set_value(false);
    } catch (const sdk::PipeClosedError&) {
      eof.set_value(true);
    }
  });
  if (got.wait_for(20s) != std::future_status::ready) {
    ADD_FAILURE() << "recv still waits 20 s after the peer died";
    a_->close();  // ends the wait
  }
  reader.join();
  EXPECT_TRUE(got.get());
  EXPECT_THROW(a_->send("more"), sdk::PipeClosedError);
}

// An end destroyed without close() lets go ('F'): the peer waits for it to be attached again
// (here in this process; normally in another one), whichever end moves.
TEST_P(NanomsgDirectTest, AnEndLetGoIsFollowedWhenAttachedAgain) {
  a_->send("1");  // a listens, b dials
  ASSERT_EQ(b_->recv(10s), "1");
  b_.reset();
  EXPECT_EQ(a_->recv(300ms), std::nullopt);  // not EOF
  a_->send("2");                             // kept for the end's next attachment
  b_ = transport_->attach(kPipe, 1);
  EXPECT_EQ(b_->recv(10s), "2");
  a_.reset();  // the listening end moves: it listens anew, b follows the new address
  EXPECT_EQ(b_->recv(300ms), std::nullopt);
  a_ = transport_->attach(kPipe, 0);
  a_->send("3");
  EXPECT_EQ(b_->recv(20s), "3");
  b_->send("4");
  EXPECT_EQ(a_->recv(20s), "4");
}

// NNG's ipc:// mapping: the same handshake, a type byte (1) before each length. Only for the
// variant with ipc on.
class NanomsgDirectIpcTest : public NanomsgDirectTest {};

TEST_P(NanomsgDirectIpcTest, AnNngPair1SocketDialsOurUnixSocket) {
  a_->send("over ipc");
  const std::string ipc = run({"GET", std::string(kPipe) + ":nn:ipc"}).str;
  ASSERT_EQ(ipc.rfind("ipc:///", 0), 0u) << ipc;
  NngSocket nng;
  ASSERT_EQ(nng_dial(nng.socket, ipc.c_str(), nullptr, 0), 0);
  EXPECT_EQ(nng.recv(), "Dover ipc");
  const std::string big = pattern(1u << 20, 5);
  ASSERT_EQ(nng.send("D" + big), 0);
  EXPECT_EQ(a_->recv(10s), big);
  a_->send(big);
  EXPECT_EQ(nng.recv(), "D" + big);
  a_->close();
  EXPECT_EQ(nng.recv(), "E");
}

TEST_P(NanomsgDirectIpcTest, OurEndDialsAnNngPair1UnixSocket) {
  NngSocket nng;
  const std::string path = "/tmp/lithops-nn-test-" + std::to_string(::getpid()) + ".sock";
  ASSERT_EQ(nng_listen(nng.socket, ("ipc://" + path).c_str(), nullptr, 0), 0);
  // End 1 (NNG) listens; its TCP address is dead, so only the Unix socket can work.
  run({"SET", std::string(kPipe) + ":nn:listener", "1"});
  run({"SET", std::string(kPipe) + ":nn:ipc", "ipc://" + path});
  run({"RPUSH", std::string(kPipe) + ":nn:addr",
       "tcp://127.0.0.1:" + std::to_string(closed_port())});
  a_->send("ping");
  EXPECT_EQ(nng.recv(), "Dping");
  ASSERT_EQ(nng.send("Dpong"), 0);
  EXPECT_EQ(a_->recv(10s), "pong");
}

INSTANTIATE_TEST_SUITE_P(Wires, NanomsgDirectTest, ::testing::Values("direct", "direct_tcp"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });
INSTANTIATE_TEST_SUITE_P(Wires, NanomsgDirectIpcTest, ::testing::Values("direct"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

INSTANTIATE_TEST_SUITE_P(Engines, NanomsgTest, ::testing::Values("direct", "direct_tcp", "nng"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST(NanomsgConfig, DefaultsAndErrors) {
  auto o = parse_options(nullptr);
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.bind, "127.0.0.1");
  EXPECT_EQ(o.port_min, 0);
  EXPECT_EQ(o.engine, lithops::plugins::nanomsg::Engine::kDirect);
  boost::json::object nng{{"engine", "nng"}};
  EXPECT_EQ(parse_options(&nng).engine, lithops::plugins::nanomsg::Engine::kNng);
  EXPECT_TRUE(o.ipc);
  boost::json::object ipc{{"ipc", "yes"}};
  EXPECT_THROW(parse_options(&ipc), sdk::ConfigError);
  boost::json::object engine{{"engine", "zmq"}};
  try {
    parse_options(&engine);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const sdk::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'engine' must be \"direct\""), std::string::npos)
        << e.what();
  }
  boost::json::object bad{{"port_min", 70000}};
  EXPECT_THROW(parse_options(&bad), sdk::ConfigError);
  boost::json::object range{{"port_min", 9000}, {"port_max", 8000}};
  EXPECT_THROW(parse_options(&range), sdk::ConfigError);
  boost::json::object host{{"host", 5}};
  EXPECT_THROW(parse_options(&host), sdk::ConfigError);
}

TEST(NanomsgPlugin, ExportsATransportNamedNanomsg) {
  boost::dll::shared_library lib(LITHOPS_NANOMSG_PLUGIN_PATH);
  EXPECT_EQ(lib.get_alias<sdk::AbiFn>("lithops_plugin_abi_version")(), sdk::kAbiVersion);
  EXPECT_STREQ(lib.get_alias<sdk::StringFn>("lithops_plugin_kind")(), "pipe");
  EXPECT_STREQ(lib.get_alias<sdk::StringFn>("lithops_plugin_name")(), "nanomsg");
}

}  // namespace
