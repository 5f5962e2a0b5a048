// The worker's Runtime API loop against an implementation nobody here wrote: npm's
// @architect/sandbox (v8), installed at set-up time by `tools/quickstart.sh deps` into
// tests/e2e/aws_lambda/sandbox/node_modules. This test process moves into a private network
// namespace of its own (loopback only: Sandbox binds every interface), so that Sandbox, the driver,
// the private redis-server it starts and every bootstrap Sandbox starts meet on that loopback and
// nothing else. sandbox/sandbox_lambda.js runs Sandbox on the unpacked `lithops runtime build` zip
// and puts the Lambda Invoke API in front of it; lambda_e2e_program then runs unchanged on the
// aws_lambda backend, its results travelling through the real redis-server.
//
// Sandbox's quirks are the point: AWS_LAMBDA_RUNTIME_API arrives as
// http://localhost:PORT/REQUEST-ID (a scheme and a path prefix), each invocation starts the
// bootstrap afresh, and Sandbox stops the bootstrap (SIGINT) once it has answered, while it waits
// in /invocation/next.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "e2e_process.hpp"

namespace fs = std::filesystem;
using lithops::e2e::run;
using lithops::e2e::slurp;

namespace {

const fs::path kSandboxDir = LITHOPS_SANDBOX_DIR;
constexpr const char* kFunction = "lithops-sandbox-e2e";
constexpr const char* kInstallHint =
    "install it at set-up time with `tools/quickstart.sh deps` (which runs `npm ci "
    "--ignore-scripts "
    "--prefix tests/e2e/aws_lambda/sandbox`, after installing Debian's nodejs and npm if npm is "
    "missing)";

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return {};
}

// Whether Sandbox v8 is installed where set-up puts it; the problem otherwise.
std::string sandbox_problem() {
  const fs::path manifest = kSandboxDir / "node_modules/@architect/sandbox/package.json";
  if (!fs::exists(manifest)) {
    return "npm's @architect/sandbox is not installed (" + manifest.string() + " is missing); " +
           kInstallHint;
  }
  const auto text = slurp(manifest);
  if (text.find("\"version\": \"8.") == std::string::npos) {
    return manifest.string() + " is not version 8.x (the version package-lock.json pins); " +
           kInstallHint;
  }
  if (find_on_path("node").empty()) {
    return std::string("`node` is not on PATH; ") + kInstallHint;
  }
  return {};
}

// `unshare -n` and `ip link set lo up` for this process: from here on it and its children see a
// network namespace with nothing but their own loopback.
std::string enter_private_network() {
  if (::unshare(CLONE_NEWNET) != 0) {
    return std::string("cannot create a private network namespace (unshare(CLONE_NEWNET): ") +
           std::strerror(errno) +
           "); this test needs root or CAP_SYS_ADMIN, as CI has: run it as root";
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  const bool up = fd >= 0 && ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
                  (ifr.ifr_flags |= IFF_UP, ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!up) return std::string("cannot bring up lo in the new namespace: ") + std::strerror(err);
  return {};
}

class SandboxRuntimeApi : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (auto problem = sandbox_problem(); !problem.empty()) {
      setup_error_ = problem;
      return;
    }
    if (auto problem = enter_private_network(); !problem.empty()) {
      setup_error_ = problem;
      return;
    }
    char tmpl[] = "/tmp/lithops-lambda-sandbox-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    const fs::path zip = dir_ / "package.zip";
    auto built = run({LITHOPS_CLI, "runtime", "build", LITHOPS_E2E_PROGRAM, "-o", zip.string(),
                      "--plugin-dir", LITHOPS_PLUGIN_DIR},
                     {}, dir_);
    if (built.status != 0) {
      setup_error_ = "lithops runtime build failed: " + built.out + built.err;
      return;
    }
    const fs::path code = dir_ / "project/build/events/lithops";
    fs::create_directories(code);
    auto unzipped = run({find_on_path("unzip"), "-q", zip.string(), "-d", code.string()}, {}, dir_);
    if (unzipped.status != 0) {
      setup_error_ = "unzip failed: " + unzipped.err;
      return;
    }
    start_sandbox();
    std::ofstream(dir_ / "lambda.json")
        << R"({"lithops": {"backend": "aws_lambda"}, "aws_lambda": {)"
        << R"("endpoint_url": "http://127.0.0.1:)" << port_ << R"(", "region": "us-east-1", )"
        << R"("function_name": ")" << kFunction << R"(", )"
        << R"("access_key_id": "AKIDSANDBOXDUMMY", "secret_access_key": "dummy-secret", )"
        << R"("memory": 512, "timeout": 120}})";
    std::ofstream(dir_ / "localhost.json") << R"({"lithops": {"backend": "localhost"}})";
  }

  // Starts sandbox_lambda.js with dummy credentials (Sandbox looks some up at start) and waits for
  // the port of its Invoke front.
  static void start_sandbox() {
    const fs::path port_file = dir_ / "port";
    log_ = dir_ / "sandbox.log";
    const std::string node = find_on_path("node");
    const std::string script = (kSandboxDir / "sandbox_lambda.js").string();
    const std::string project = (dir_ / "project").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setenv("AWS_ACCESS_KEY_ID", "AKIDSANDBOXDUMMY", 1);
      ::setenv("AWS_SECRET_ACCESS_KEY", "dummy-secret", 1);
      ::setenv("AWS_REGION", "us-east-1", 1);
      ::setenv("NODE_PATH", (kSandboxDir / "node_modules").c_str(), 1);
      ::unsetenv("AWS_PROFILE");
      ::unsetenv("AWS_SESSION_TOKEN");
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(node.c_str(), node.c_str(), script.c_str(), "--project", project.c_str(),
              "--function", kFunction, "--port-file", port_file.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Sandbox takes a few seconds to start on a loaded machine; give it a minute.
    for (int i = 0; i < 1200 && !fs::exists(port_file); ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::ifstream(port_file) >> port_;
    if (port_ <= 0) setup_error_ = "Sandbox did not start; its log:\n" + slurp(log_);
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 200 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    std::error_code ec;
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_, ec);
  }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static lithops::e2e::Result on_sandbox(const std::string& scenario) {
    auto r = run({LITHOPS_E2E_PROGRAM, scenario},
                 {"LITHOPS_CONFIG_FILE=" + (dir_ / "lambda.json").string()}, dir_);
    EXPECT_EQ(r.status, 0) << r.out << r.err << "\nSandbox log:\n" << slurp(log_).substr(0, 20000);
    return r;
  }
  // The scenario on Sandbox must print what it prints on localhost, and that must be `expected`.
  static void expect_same_as_localhost(const std::string& scenario, const std::string& expected) {
    const auto sandbox = on_sandbox(scenario);
    const auto local = run({LITHOPS_E2E_PROGRAM, scenario},
                           {"LITHOPS_CONFIG_FILE=" + (dir_ / "localhost.json").string()}, dir_);
    EXPECT_EQ(local.status, 0) << local.out << local.err;
    EXPECT_EQ(sandbox.out, local.out) << "Sandbox and localhost printed different output";
    EXPECT_EQ(sandbox.out, expected);
  }

  static inline std::string setup_error_;
  static inline fs::path dir_;
  static inline fs::path log_;
  static inline pid_t pid_ = -1;
  static inline int port_ = 0;
};

TEST_F(SandboxRuntimeApi, FunctionsSeeSandboxsRuntimeApiUrlAndAFreshProcessEach) {
  const auto r = on_sandbox("environment");
  // Two lines "http://localhost:PORT/REQUEST-ID pid=N": Sandbox's form of the address, with a
  // request id of its own for each invocation, and a process of its own for each.
  const std::regex line(R"(http://localhost:(\d+)/([0-9a-f-]{36}) pid=(\d+)\n)");
  std::smatch a;
  std::smatch b;
  ASSERT_TRUE(std::regex_search(r.out, a, line)) << r.out;
  const std::string rest = a.suffix();
  ASSERT_TRUE(std::regex_search(rest, b, line)) << r.out;
  EXPECT_EQ(a[1], b[1]) << "one Sandbox, one Runtime API port";
  EXPECT_NE(a[2], b[2]) << "each invocation has its own request id in the path";
  EXPECT_NE(a[3], b[3]) << "each invocation runs in a bootstrap started for it";
}

TEST_F(SandboxRuntimeApi, ProcessExitCodesMatchLocalhost) {
  expect_same_as_localhost("process", "succeed exitcode=0\nexit_with(3) exitcode=3\n");
}

TEST_F(SandboxRuntimeApi, ExceptionInAFunctionReachesTheDriver) {
  expect_same_as_localhost("exception",
                           "raising process exitcode=1\n"
                           "pool.map raised std::invalid_argument: seven is not allowed\n");
}

// Sandbox does not answer for a bootstrap that dies; sandbox_lambda.js words its end as Lambda
// does.
TEST_F(SandboxRuntimeApi, CrashedFunctionReportsTheSignalLikeALocalProcess) {
  expect_same_as_localhost("crash", "aborting process exitcode=-6\n");
}

TEST_F(SandboxRuntimeApi, QueueFedByEightFunctionsIsDrainedByTheDriver) {
  expect_same_as_localhost(
      "queue", "queue: 40 items from 8 functions, each exactly once=yes, failed functions=0\n");
}

TEST_F(SandboxRuntimeApi, LockAcrossEightFunctionsGivesTheExactTotal) {
  expect_same_as_localhost(
      "lock", "lock: 8 functions x 25 increments under one lock, total=200, failed functions=0\n");
}

}  // namespace
