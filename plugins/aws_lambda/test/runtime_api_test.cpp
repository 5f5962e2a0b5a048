// The worker side: AWS_LAMBDA_RUNTIME_API parsing, the Runtime API loop against a real HTTP server
// on loopback that serves the API under a path prefix (as npm's @architect/sandbox does), and the
// mapping of Lambda's function errors to process statuses.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lambda_executor.hpp"
#include "lambda_worker_runtime.hpp"
#include "lithops/sdk/errors.hpp"
#include "runtime_api.hpp"

namespace aws = lithops::aws;

namespace {

TEST(RuntimeApiBaseUrl, AcceptsHostPortAndUrlsWithAPathPrefix) {
  EXPECT_EQ(aws::runtime_api_base_url("127.0.0.1:9001"), "http://127.0.0.1:9001");
  EXPECT_EQ(aws::runtime_api_base_url("localhost:9001/"), "http://localhost:9001");
  EXPECT_EQ(aws::runtime_api_base_url("[::1]:9001"), "http://[::1]:9001");
  EXPECT_EQ(aws::runtime_api_base_url("http://localhost:3333/f81d4fae-7dec-11d0"),
            "http://localhost:3333/f81d4fae-7dec-11d0");
  EXPECT_EQ(aws::runtime_api_base_url("http://localhost:3333/abc/"), "http://localhost:3333/abc");
  EXPECT_THROW(aws::runtime_api_base_url(""), std::invalid_argument);
  EXPECT_THROW(aws::runtime_api_base_url("host :1"), std::invalid_argument);
  EXPECT_THROW(aws::runtime_api_base_url("http:///path"), std::invalid_argument);
}

TEST(FunctionError, MapsLambdaWordingToProcessStatus) {
  auto f = aws::describe_function_error(
      "fn", "Unhandled",
      R"j({"errorType":"Runtime.ExitError","errorMessage":"RequestId: x Error: Runtime exited with error: signal: aborted (core dumped)"})j");
  EXPECT_EQ(f.status, -SIGABRT);
  EXPECT_NE(f.reason.find("Runtime.ExitError"), std::string::npos) << f.reason;
  EXPECT_EQ(
      aws::describe_function_error(
          "fn", "Unhandled",
          R"({"errorType":"Runtime.ExitError","errorMessage":"Runtime exited with error: exit status 70"})")
          .status,
      70);
  EXPECT_EQ(aws::describe_function_error(
                "fn", "Unhandled",
                R"({"errorMessage":"2024-01-01T00:00:00Z abc Task timed out after 3.00 seconds"})")
                .status,
            -SIGKILL);
  EXPECT_EQ(aws::describe_function_error("fn", "Unhandled", "not json").status, 1);
}

// A one-connection-at-a-time HTTP/1.1 server on loopback that plays the Runtime API under
// `/prefix`: it hands out `payloads` in order, then closes the listening socket (the instance is
// going away), and records what the runtime posted.
class FakeRuntimeApi {
 public:
  explicit FakeRuntimeApi(std::vector<std::string> payloads) : payloads_(std::move(payloads)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeRuntimeApi() {
    thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }
  std::vector<std::string> posts;  // "<path> <body>"

 private:
  void serve() {
    std::size_t next = 0;
    while (true) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[65536];
      bool open = true;
      while (open) {
        // Read one request: head, then Content-Length bytes of body.
        std::size_t head_end;
        while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
          const auto n = ::read(c, buf, sizeof buf);
          if (n <= 0) {
            open = false;
            break;
          }
          in.append(buf, static_cast<std::size_t>(n));
        }
        if (!open) break;
        const std::string head = in.substr(0, head_end);
        std::size_t length = 0;
        for (const char* key : {"Content-Length: ", "content-length: "}) {
          if (auto at = head.find(key); at != std::string::npos) {
            length = std::stoul(head.substr(at + 16));
          }
        }
        while (in.size() < head_end + 4 + length) {
          const auto n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          in.append(buf, static_cast<std::size_t>(n));
        }
        const std::string body = in.substr(head_end + 4, length);
        in.erase(0, head_end + 4 + length);
        const auto sp = head.find(' ');
        const std::string method = head.substr(0, sp);
        const std::string path = head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
        std::string reply;
        if (method == "GET" && path == "/prefix/2018-06-01/runtime/invocation/next") {
          if (next == payloads_.size()) {
            ::close(c);
            ::close(fd_);  // no more invocations: the instance is shut down
            fd_ = -1;
            return;
          }
          const auto& p = payloads_[next];
          const std::string id = "req-" + std::to_string(next++);
          reply = "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: " + id +
                  "\r\nLambda-Runtime-Deadline-Ms: 99999999999999\r\nContent-Length: " +
                  std::to_string(p.size()) + "\r\n\r\n" + p;
        } else {
          posts.push_back(path + " " + body);
          reply = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
        }
        ::write(c, reply.data(), reply.size());
      }
      ::close(c);
    }
  }

  std::vector<std::string> payloads_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(LambdaWorkerRuntime, ServesUnderAPathPrefixHandingPayloadsOverVerbatim) {
  const std::string big(200'000, 'x');
  std::vector<std::string> received;
  {
    FakeRuntimeApi api({R"({"kind":"process","n":1})", "throw", big});
    const std::string value = "http://127.0.0.1:" + std::to_string(api.port()) + "/prefix";
    ::setenv("AWS_LAMBDA_RUNTIME_API", value.c_str(), 1);
    aws::LambdaWorkerRuntime runtime(lithops::sdk::PluginContext{});
    const int code = runtime.serve([&](const std::string& payload) {
      received.push_back(payload);
      if (payload == "throw") throw std::runtime_error("handler failed");
    });
    EXPECT_EQ(code, 0);  // the Runtime API went away
    ASSERT_EQ(api.posts.size(), 3u);
    EXPECT_EQ(api.posts[0], "/prefix/2018-06-01/runtime/invocation/req-0/response {}");
    EXPECT_TRUE(api.posts[1].starts_with("/prefix/2018-06-01/runtime/invocation/req-1/error "));
    EXPECT_NE(api.posts[1].find("handler failed"), std::string::npos) << api.posts[1];
    EXPECT_EQ(api.posts[2], "/prefix/2018-06-01/runtime/invocation/req-2/response {}");
  }
  ::unsetenv("AWS_LAMBDA_RUNTIME_API");
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0], R"({"kind":"process","n":1})");
  EXPECT_EQ(received[2], big);
}

TEST(LambdaWorkerRuntime, RefusesToStartWithoutTheRuntimeApi) {
  ::unsetenv("AWS_LAMBDA_RUNTIME_API");
  EXPECT_THROW(aws::LambdaWorkerRuntime(lithops::sdk::PluginContext{}), lithops::sdk::PluginError);
}

}  // namespace
