// Process and Pool workloads (issue 5 targets), one JSON line per figure (see bench_common.hpp).
//   bench_pool [--quick]
//
// "pool_map_1000_with_creation" starts new workers for every Pool, as CPython's Pool forks new
// processes: each repetition is a new driver process (this program re-run with
// --pool-with-new-workers) that opens its session (store connection, executor) before the clock
// starts and has no worker process yet; the figure is Pool(cpu_count()) + map of 1,000 + close +
// join + the Pool's destruction. "pool_map_1000_with_creation_warm_workers" times the same in this
// process, on the executor's workers left warm by the workloads before it.
#include <stdio.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <lithops/multiprocessing.hpp>

#include "../../core/src/runtime.hpp"
#include "bench_common.hpp"

namespace mp = lithops::multiprocessing;
using lithops::bench::repeat;
using lithops::bench::report;
using lithops::bench::seconds_since;

namespace {
int trivial(int x) { return x + 1; }
void nothing() {}
// About 10 ms of CPU, whatever the machine: spin on the clock.
int burn_10ms(int x) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(10);
  volatile long n = 0;
  while (std::chrono::steady_clock::now() < until) n = n + 1;
  return x;
}

std::vector<int> iota_vector(int n) {
  std::vector<int> in(static_cast<std::size_t>(n));
  std::iota(in.begin(), in.end(), 0);
  return in;
}

// Worker processes among the children of this process: those whose environment carries
// LITHOPS_WORKER_BACKEND (the session's private redis-server and its watchdog do not). The executor
// forks its workers from a monitor thread, so every thread's list of children counts.
std::size_t worker_processes() {
  std::size_t n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream children(task.path() / "children");
    for (long pid = 0; children >> pid;) {
      std::ifstream environ("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
      for (std::string var; std::getline(environ, var, '\0');) {
        if (var.starts_with("LITHOPS_WORKER_BACKEND=")) {
          ++n;
          break;
        }
      }
    }
  }
  return n;
}
}  // namespace
LITHOPS_FUNCTION(trivial);
LITHOPS_FUNCTION(nothing);
LITHOPS_FUNCTION(burn_10ms);

namespace {
// Pool creation + map of 1,000 trivial tasks + close + join + destruction, in ms.
double pool_with_creation(int processes, const std::vector<int>& in) {
  const auto t0 = std::chrono::steady_clock::now();
  {
    mp::Pool pool(processes);
    auto out = pool.map(trivial, in);
    if (out.size() != in.size() || out.back() != in.back() + 1) std::abort();
    pool.close();
    pool.join();
  }
  return seconds_since(t0) * 1e3;
}

// --pool-with-new-workers: one repetition in a new driver; prints the time in ms.
int pool_with_new_workers() {
  auto& runtime = mp::detail::Runtime::get();
  runtime.store().run({"PING"});
  runtime.executor();  // plugin loaded, monitor running; a worker starts only with a task
  if (const std::size_t n = worker_processes(); n != 0) {
    std::fprintf(stderr, "bench_pool: %zu worker process(es) before the Pool: not a cold start\n",
                 n);
    return 1;
  }
  const double ms = pool_with_creation(mp::cpu_count(), iota_vector(1000));
  if (worker_processes() == 0) {
    std::fprintf(stderr, "bench_pool: the Pool ran on no worker process of this driver\n");
    return 1;
  }
  std::printf("%.6g\n", ms);
  return 0;
}

// Runs this program with --pool-with-new-workers and returns the time it printed.
double pool_with_new_workers_in_new_driver() {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string command = "'" + self + "' --pool-with-new-workers";
  FILE* child = ::popen(command.c_str(), "r");
  if (child == nullptr) {
    std::perror("bench_pool: popen");
    std::exit(1);
  }
  double ms = -1;
  const int read = std::fscanf(child, "%lf", &ms);
  if (::pclose(child) != 0 || read != 1 || ms < 0) {
    std::fprintf(stderr, "bench_pool: %s failed\n", command.c_str());
    std::exit(1);
  }
  return ms;
}
}  // namespace

int main(int argc, char** argv) {
  mp::init(argc, argv);
  if (argc > 1 && std::strcmp(argv[1], "--pool-with-new-workers") == 0) {
    return pool_with_new_workers();
  }
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int reps = lithops::bench::reps_for(quick);
  const std::string who = "lithops-cpp";

  {  // Process start -> join on a warm worker
    mp::Process warmup(nothing);
    warmup.start();
    warmup.join();
    const int n = quick ? 20 : 200;
    auto f = repeat(reps, [&] {
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) {
        mp::Process p(nothing);
        p.start();
        p.join();
      }
      return seconds_since(t0) / n * 1e3;
    });
    report("process_start_join", who, "ms", f);
  }

  const int processes = mp::cpu_count();
  const auto thousand = iota_vector(1000);
  report("pool_map_1000_with_creation", who, "ms",
         repeat(reps, [] { return pool_with_new_workers_in_new_driver(); }));
  pool_with_creation(processes, thousand);  // both workers warm
  report("pool_map_1000_with_creation_warm_workers", who, "ms",
         repeat(reps, [&] { return pool_with_creation(processes, thousand); }));

  mp::Pool pool(processes);
  pool.map(trivial, std::vector<int>{1, 2, 3, 4});  // warm
  for (int n : quick ? std::vector<int>{1000} : std::vector<int>{1000, 10000, 100000}) {
    const auto in = iota_vector(n);
    auto f = repeat(reps, [&] {
      auto t0 = std::chrono::steady_clock::now();
      auto out = pool.map(trivial, in);
      return seconds_since(t0) * 1e3;
    });
    report("pool_map_" + std::to_string(n), who, "ms", f);
  }
  {
    std::vector<int> in(quick ? 20 : 100);
    auto f = repeat(reps, [&] {
      auto t0 = std::chrono::steady_clock::now();
      auto out = pool.map(burn_10ms, in);
      return seconds_since(t0) * 1e3;
    });
    report(quick ? "pool_map_20x10ms" : "pool_map_100x10ms", who, "ms", f);
  }
  return 0;
}
