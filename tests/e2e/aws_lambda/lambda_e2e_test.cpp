// The aws_lambda backend end to end, with nothing faked: lithops-lambda-emulator serves Lambda on
// loopback (signatures checked), `lithops runtime build` packages lambda_e2e_program with its
// libraries and plugins, `lithops runtime deploy` creates the function, and each scenario of the
// program runs as a driver whose functions are bootstraps the emulator starts, reporting through
// the private redis-server the driver starts. Every scenario's output must equal the output of the
// same program on the localhost backend, and the text the scenario is known to print.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "e2e_process.hpp"
#include "http_client.hpp"

namespace fs = std::filesystem;
using lithops::e2e::run;
using lithops::e2e::slurp;

namespace {

// One lithops-lambda-emulator process on a free loopback port.
struct Emulator {
  pid_t pid = -1;
  int port = 0;
  fs::path log;

  void start(const fs::path& dir, int concurrency, const char* exit_answer = "lambda") {
    fs::create_directories(dir);
    log = dir / "emulator.log";
    const fs::path port_file = dir / "port";
    pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      const std::string c = std::to_string(concurrency);
      ::execl(LITHOPS_EMULATOR, LITHOPS_EMULATOR, "--listen", "127.0.0.1:0", "--port-file",
              port_file.c_str(), "--access-key-id", "AKIDLITHOPSE2E", "--secret-access-key",
              "e2e-secret", "--concurrency", c.c_str(), "--work-dir", (dir / "work").c_str(),
              "--pass-env", "ASAN_OPTIONS", "--pass-env", "UBSAN_OPTIONS", "--exit-answer",
              exit_answer, static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !fs::exists(port_file); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::ifstream(port_file) >> port;
  }
  void stop() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

class LambdaE2E : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/lithops-lambda-e2e-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    main_.start(dir_ / "emulator", 64);
    storm_.start(dir_ / "storm-emulator", 2);
    // Answers as AWS's runtime interface emulator does: an empty 200 for a bootstrap that died.
    rie_.start(dir_ / "rie-emulator", 8, "empty-200");
    ASSERT_GT(main_.port, 0) << slurp(main_.log);
    ASSERT_GT(storm_.port, 0) << slurp(storm_.log);
    ASSERT_GT(rie_.port, 0) << slurp(rie_.log);
    write_config(main_config(), main_, "");
    write_config(rie_config(), rie_, "", R"(, "lost_grace_period": 2)");
    // Fast retries so that 50 invocations against 2 instances finish in seconds, not minutes.
    write_config(storm_config(), storm_, R"(, "max_retries": 60, "retry_base_ms": 20)");
    std::ofstream(local_config()) << R"({"lithops": {"backend": "localhost"}})";

    zip_ = dir_ / "lambda_e2e_program.zip";
    auto built = run({LITHOPS_CLI, "runtime", "build", LITHOPS_E2E_PROGRAM, "-o", zip_.string(),
                      "--plugin-dir", LITHOPS_PLUGIN_DIR},
                     {}, dir_);
    ASSERT_EQ(built.status, 0) << built.out << built.err;
    for (const auto& config : {main_config(), storm_config(), rie_config()}) {
      auto deployed = run(
          {LITHOPS_CLI, "--config", config.string(), "runtime", "deploy", zip_.string()}, {}, dir_);
      ASSERT_EQ(deployed.status, 0) << deployed.out << deployed.err;
      ASSERT_NE(deployed.out.find("created lithops-lambda_e2e_program"), std::string::npos)
          << deployed.out;
    }
  }

  static void TearDownTestSuite() {
    main_.stop();
    storm_.stop();
    rie_.stop();
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  static void write_config(const fs::path& file, const Emulator& e, const std::string& extra,
                           const std::string& lithops_extra = "") {
    std::ofstream(file)
        << R"({"lithops": {"backend": "aws_lambda")" << lithops_extra << R"(}, "aws_lambda": {)"
        << R"("endpoint_url": ")" << e.url() << R"(", "region": "us-east-1", )"
        << R"("access_key_id": "AKIDLITHOPSE2E", "secret_access_key": "e2e-secret", )"
        << R"("execution_role": "arn:aws:iam::000000000000:role/lithops-e2e", )"
        << R"("memory": 512, "timeout": 120)" << extra << "}}";
  }
  static fs::path main_config() { return dir_ / "lambda.json"; }
  static fs::path storm_config() { return dir_ / "lambda-storm.json"; }
  static fs::path rie_config() { return dir_ / "lambda-rie.json"; }
  static fs::path local_config() { return dir_ / "localhost.json"; }

  // Runs a scenario on Lambda and on localhost; both must succeed and print the same.
  static std::string run_both(const std::string& scenario, const fs::path& lambda_config) {
    auto lambda = run({LITHOPS_E2E_PROGRAM, scenario},
                      {"LITHOPS_CONFIG_FILE=" + lambda_config.string()}, dir_);
    auto local = run({LITHOPS_E2E_PROGRAM, scenario},
                     {"LITHOPS_CONFIG_FILE=" + local_config().string()}, dir_);
    EXPECT_EQ(lambda.status, 0) << lambda.out << lambda.err << "\nemulator log:\n"
                                << slurp(main_.log).substr(0, 20000);
    EXPECT_EQ(local.status, 0) << local.out << local.err;
    EXPECT_EQ(lambda.out, local.out) << "aws_lambda and localhost printed different output";
    return lambda.out;
  }

  static inline fs::path dir_;
  static inline fs::path zip_;
  static inline Emulator main_;
  static inline Emulator storm_;
  static inline Emulator rie_;
};

TEST_F(LambdaE2E, ProcessExitCodesMatchLocalhost) {
  EXPECT_EQ(run_both("process", main_config()), "succeed exitcode=0\nexit_with(3) exitcode=3\n");
}

TEST_F(LambdaE2E, PoolMapOfAThousandTasksMatchesLocalhost) {
  EXPECT_EQ(run_both("pool_map", main_config()),
            "pool.map of 1000 tasks: sum=332833500 in order=yes\n");
}

TEST_F(LambdaE2E, ExceptionInAFunctionReachesTheDriver) {
  EXPECT_EQ(run_both("exception", main_config()),
            "raising process exitcode=1\n"
            "pool.map raised std::invalid_argument: seven is not allowed\n");
}

TEST_F(LambdaE2E, CrashedFunctionReportsTheSignalLikeALocalProcess) {
  EXPECT_EQ(run_both("crash", main_config()), "aborting process exitcode=-6\n");
}

TEST_F(LambdaE2E, LostProcessPrintsItsReasonOnTheDriversStderr) {
  auto r =
      run({LITHOPS_E2E_PROGRAM, "crash"}, {"LITHOPS_CONFIG_FILE=" + main_config().string()}, dir_);
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "aborting process exitcode=-6\n");
  // As CPython shows a dead child's traceback: the driver says why it lost the process.
  EXPECT_NE(r.err.find("lithops: Process Process-1 ("), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("was lost, signal 6 (SIGABRT): AWS Lambda function "
                       "lithops-lambda_e2e_program failed (Runtime.ExitError): RequestId: "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Runtime exited with error: signal: aborted"), std::string::npos) << r.err;
}

TEST_F(LambdaE2E, TracebackFromInsideThePackageNamesTheFunctionFileAndLine) {
  auto r = run({LITHOPS_E2E_PROGRAM, "traceback"},
               {"LITHOPS_CONFIG_FILE=" + main_config().string()}, dir_);
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const auto first = r.out.substr(0, r.out.find('\n'));
  ASSERT_TRUE(first.starts_with("throw at ")) << r.out;
  const auto where = first.substr(9);  // lambda_e2e_program.cpp:LINE
  // The remote traceback's first frame is the throw: the function, the file and the line.
  const auto frame0 = r.out.find(" 0# ");
  ASSERT_NE(frame0, std::string::npos) << r.out;
  const auto line0 = r.out.substr(frame0, r.out.find('\n', frame0) - frame0);
  EXPECT_NE(line0.find("throw_boom("), std::string::npos) << r.out;
  EXPECT_NE(line0.find(where), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("dl-load.c"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("boom 5\n\nRemote traceback:\n"), std::string::npos) << r.out;
}

TEST_F(LambdaE2E, EndedInvocationWithoutAnExitReportEndsAsLostAfterTheGracePeriod) {
  // The bootstrap aborts and the platform answers 200 with an empty body: only the missing exit
  // report says something went wrong. join() must return (lost, exit code 1), not wait forever.
  auto r =
      run({LITHOPS_E2E_PROGRAM, "lost"}, {"LITHOPS_CONFIG_FILE=" + rie_config().string()}, dir_);
  ASSERT_EQ(r.status, 0) << r.out << r.err << "\nemulator log:\n" << slurp(rie_.log);
  EXPECT_NE(r.out.find("lost process: join returned=yes exitcode=1 reason set=yes\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("reason: the aws_lambda backend reported invocation "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("sent no exit report within 2 s (lithops.lost_grace_period)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("lost pool task: ProcessError: task 0 of a Pool call of 'abort_now' was "
                       "lost: the aws_lambda backend reported invocation "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("was lost, exit code 1: the aws_lambda backend reported"), std::string::npos)
      << r.err;
}

long long emulator_stat(const Emulator& e, const char* name) {
  lithops::aws::HttpClient client;
  lithops::aws::HttpRequest request;
  request.url = e.url() + "/emulator/stats";
  const auto stats = client.perform(request);
  EXPECT_EQ(stats.status, 200) << stats.error;
  return stats.status == 200 ? boost::json::parse(stats.body).at(name).to_number<long long>() : -1;
}

TEST_F(LambdaE2E, TwoHundredProcessesStartedBackToBackAllSucceed) {
  const auto cold_before = emulator_stat(main_, "cold_starts");
  EXPECT_EQ(run_both("sequential", main_config()),
            "sequential: 200 of 200 processes ended with their own exit code\n");
  // join() waited for each invocation's answer, by which time the emulator counts its instance
  // idle again: the next start() reused it instead of starting another.
  const auto cold = emulator_stat(main_, "cold_starts") - cold_before;
  RecordProperty("cold_starts", static_cast<int>(cold));
  EXPECT_LT(cold, 20) << cold << " cold starts for 200 back-to-back Processes";
}

TEST_F(LambdaE2E, ThrottlingStormAgainstTwoInstancesStillCompletes) {
  EXPECT_EQ(run_both("storm", storm_config()),
            "storm: 50 of 50 processes finished, exit codes sum=100\n");
  // The storm really was throttled: the emulator answered 429s that the executor retried.
  lithops::aws::HttpClient client;
  lithops::aws::HttpRequest request;
  request.url = storm_.url() + "/emulator/stats";
  const auto stats = client.perform(request);
  ASSERT_EQ(stats.status, 200) << stats.error;
  const auto throttled = boost::json::parse(stats.body).at("throttled").to_number<long long>();
  EXPECT_GT(throttled, 0) << stats.body;
}

TEST_F(LambdaE2E, TenMegabyteArgumentTravelsThroughRedis) {
  const auto out = run_both("payload", main_config());
  EXPECT_NE(out.find("process exitcode=64 expected=64"), std::string::npos) << out;
  EXPECT_NE(out.find("pool.apply=10485760964 expected=10485760964"), std::string::npos) << out;
}

TEST_F(LambdaE2E, QueueFedByEightFunctionsIsDrainedByTheDriver) {
  EXPECT_EQ(run_both("queue", main_config()),
            "queue: 40 items from 8 functions, each exactly once=yes, failed functions=0\n");
}

TEST_F(LambdaE2E, LockAcrossEightFunctionsGivesTheExactTotal) {
  EXPECT_EQ(run_both("lock", main_config()),
            "lock: 8 functions x 25 increments under one lock, total=200, failed functions=0\n");
}

TEST_F(LambdaE2E, RedeployUpdatesTheFunctionAndDeleteRemovesIt) {
  auto again = run({LITHOPS_CLI, "--config", main_config().string(), "runtime", "deploy",
                    zip_.string(), "--name", "lithops-e2e-scratch"},
                   {}, dir_);
  ASSERT_EQ(again.status, 0) << again.out << again.err;
  auto update = run({LITHOPS_CLI, "--config", main_config().string(), "runtime", "deploy",
                     zip_.string(), "--name", "lithops-e2e-scratch"},
                    {}, dir_);
  ASSERT_EQ(update.status, 0) << update.out << update.err;
  EXPECT_NE(update.out.find("updated lithops-e2e-scratch"), std::string::npos) << update.out;
  auto listed = run({LITHOPS_CLI, "--config", main_config().string(), "runtime", "list"}, {}, dir_);
  EXPECT_NE(listed.out.find("lithops-e2e-scratch"), std::string::npos) << listed.out;
  auto deleted = run(
      {LITHOPS_CLI, "--config", main_config().string(), "runtime", "delete", "lithops-e2e-scratch"},
      {}, dir_);
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  listed = run({LITHOPS_CLI, "--config", main_config().string(), "runtime", "list"}, {}, dir_);
  EXPECT_EQ(listed.out.find("lithops-e2e-scratch"), std::string::npos) << listed.out;
}

TEST_F(LambdaE2E, WrongSecretIsRefusedByTheSignatureCheck) {
  const fs::path bad = dir_ / "bad-secret.json";
  std::ofstream(bad) << R"({"aws_lambda": {"endpoint_url": ")" << main_.url()
                     << R"(", "access_key_id": "AKIDLITHOPSE2E", "secret_access_key": "wrong"}})";
  auto r = run({LITHOPS_CLI, "--config", bad.string(), "runtime", "list"}, {}, dir_);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("InvalidSignatureException"), std::string::npos) << r.err;
}

TEST_F(LambdaE2E, ZipOverTheDirectUploadLimitGetsAdvice) {
  const fs::path big = dir_ / "big.zip";
  fs::resize_file((std::ofstream(big), big), 51u * 1024 * 1024);
  auto r = run({LITHOPS_CLI, "--config", main_config().string(), "runtime", "deploy", big.string()},
               {}, dir_);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("over Lambda's 50 MB limit"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--strip"), std::string::npos) << r.err;
}

}  // namespace
