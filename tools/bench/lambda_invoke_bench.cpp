// Benchmark (not a test): Event invocations per second from one driver into
// lithops-lambda-emulator, and the driver's CPU time per invocation (signing, HTTP, bookkeeping:
// everything the aws_lambda executor does in the driver process, its curl thread included).
//
//   lambda_invoke_bench [--quick] [N ...]      default: 1000 10000 (--quick: 200)
//
// Figures (each the median of bench::kMinReps repetitions, one with --quick; every repetition a
// new executor in the driver):
//   lambda_event_invoke_N, lambda_driver_cpu_per_invoke_N   N invocations into one emulator
//       whose instances were started by a first, untimed burst of the first N;
//   lambda_event_invoke_N_new_emulator, lambda_driver_cpu_per_invoke_N_new_emulator   the first N
//       into a new emulator each repetition, which cold-starts its instances (up to 64) on the same
//       cores during the burst.
//
// The bench deploys a function whose bootstrap runs this same binary as a worker with a no-op
// handler (the Runtime API loop of the real plugin), so the emulator really runs every invocation.
// One JSON line per figure, as the other benchmarks print (tools/bench/run.py collects them); the
// program fails if an invocation was lost.
#include <archive.h>
#include <archive_entry.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base64.hpp"
#include "bench_common.hpp"
#include "lambda_api.hpp"
#include "lambda_executor.hpp"
#include "lambda_worker_runtime.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
namespace aws = lithops::aws;
namespace bench = lithops::bench;

namespace {

struct CountingListener : lithops::sdk::ExecutorListener {
  std::atomic<int> lost{0};
  void on_invocation_lost(const std::string&, int, const std::string& reason) override {
    if (lost++ == 0) std::fprintf(stderr, "invocation lost: %s\n", reason.c_str());
  }
};

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string zip_with_bootstrap(const std::string& script) {
  std::string out(64 * 1024, '\0');
  std::size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_open_memory(a, out.data(), out.size(), &used);
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "bootstrap");
  archive_entry_set_size(e, static_cast<la_int64_t>(script.size()));
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0755);
  archive_write_header(a, e);
  archive_write_data(a, script.data(), script.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

// lithops-lambda-emulator on a loopback port, with the function "lithops-bench" deployed: its
// bootstrap runs this same binary as a worker with a no-op handler.
class Emulator {
 public:
  Emulator() {
    char tmpl[] = "/tmp/lithops-lambda-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) fail("mkdtemp");
    dir_ = tmpl;
    const fs::path port_file = dir_ / "port";
    pid_ = ::fork();
    if (pid_ < 0) fail("fork");
    if (pid_ == 0) {
      const std::string log = (dir_ / "emulator.log").string();
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      ::execl(LITHOPS_EMULATOR, LITHOPS_EMULATOR, "--listen", "127.0.0.1:0", "--port-file",
              port_file.c_str(), "--access-key-id", "AKIDBENCH", "--secret-access-key", "bench",
              "--concurrency", "64", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !fs::exists(port_file); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    int port = 0;
    std::ifstream(port_file) >> port;
    if (port == 0) fail("the emulator wrote no port file (see its log in " + dir_.string() + ")");
    section_ = {{"endpoint_url", "http://127.0.0.1:" + std::to_string(port)},
                {"access_key_id", "AKIDBENCH"},
                {"secret_access_key", "bench"},
                {"function_name", "lithops-bench"},
                {"invocation_type", "Event"},
                {"timeout", 60}};
    const auto config = aws::LambdaConfig::parse(&section_);
    aws::HttpClient client;
    aws::LambdaApi api(config, client);
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    api.create_function({{"FunctionName", "lithops-bench"},
                         {"Role", "arn:aws:iam::000000000000:role/bench"},
                         {"Timeout", 60},
                         {"Code",
                          {{"ZipFile", aws::base64_encode(zip_with_bootstrap("#!/bin/sh\nexec '" +
                                                                             self + "'\n"))}}}});
    while (api.get_function_configuration("lithops-bench").at("State") != "Active") {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;
  ~Emulator() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  const json::object* section() const { return &section_; }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    std::fprintf(stderr, "lambda_invoke_bench: %s failed\n", what.c_str());
    std::exit(1);
  }

  fs::path dir_;
  pid_t pid_ = -1;
  json::object section_;
};

struct Burst {
  double invocations_per_s = 0, cpu_us_per_invocation = 0;
  int lost = 0;
};

// n Event invocations through a new executor; returns once the emulator has run them all.
Burst burst(const Emulator& emulator, int n) {
  lithops::sdk::PluginContext ctx;
  ctx.section = emulator.section();
  CountingListener listener;
  aws::LambdaExecutor executor(ctx);
  executor.set_listener(&listener);
  const std::string payload = R"({"kind":"bench","data":"0123456789abcdef"})";
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) executor.invoke({"bench-" + std::to_string(i), payload});
  while (executor.running() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  return Burst{n / wall, cpu / n * 1e6, listener.lost.load()};
}

// Reports both figures of `reps` bursts; returns the invocations lost.
template <class Run>
int report_bursts(const std::string& suffix, int reps, Run run) {
  std::vector<double> rate, cpu;
  int lost = 0;
  for (int r = 0; r < reps; ++r) {
    const Burst b = run();
    rate.push_back(b.invocations_per_s);
    cpu.push_back(b.cpu_us_per_invocation);
    lost += b.lost;
  }
  const std::string who = "lithops-cpp/aws_lambda";
  bench::report("lambda_event_invoke_" + suffix, who, "invocations/s", bench::summarise(rate));
  bench::report("lambda_driver_cpu_per_invoke_" + suffix, who, "us CPU", bench::summarise(cpu));
  return lost;
}

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("AWS_LAMBDA_RUNTIME_API") != nullptr) {  // an instance: serve, do nothing
    return aws::LambdaWorkerRuntime(lithops::sdk::PluginContext{}).serve([](const std::string&) {});
  }
  std::vector<int> sizes;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick") {
      quick = true;
    } else {
      sizes.push_back(std::stoi(argv[i]));
    }
  }
  if (sizes.empty()) sizes = quick ? std::vector<int>{200} : std::vector<int>{1000, 10000};
  const int reps = bench::reps_for(quick);
  int lost = 0;
  {
    const Emulator emulator;
    lost += burst(emulator, sizes.front()).lost;  // untimed: starts the emulator's instances
    for (const int n : sizes) {
      lost += report_bursts(std::to_string(n), reps, [&] { return burst(emulator, n); });
    }
  }
  lost += report_bursts(std::to_string(sizes.front()) + "_new_emulator", reps, [&] {
    const Emulator emulator;
    return burst(emulator, sizes.front());
  });
  if (lost > 0) {
    std::fprintf(stderr, "%d invocation(s) lost\n", lost);
    return 1;
  }
  return 0;
}
