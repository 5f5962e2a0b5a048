// Process and Pool workloads (issue 5 targets), one JSON line per figure (see bench_common.hpp).
//   bench_pool [--quick]
#include <chrono>
#include <cstring>
#include <numeric>
#include <vector>

#include <lithops/multiprocessing.hpp>

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
}  // namespace
LITHOPS_FUNCTION(trivial);
LITHOPS_FUNCTION(nothing);
LITHOPS_FUNCTION(burn_10ms);

int main(int argc, char** argv) {
  mp::init(argc, argv);
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int reps = quick ? 1 : 5;
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
  {  // Pool.map including the Pool's creation (workers are warm from the run above)
    std::vector<int> in(1000);
    std::iota(in.begin(), in.end(), 0);
    auto f = repeat(reps, [&] {
      auto t0 = std::chrono::steady_clock::now();
      mp::Pool pool(processes);
      auto out = pool.map(trivial, in);
      pool.close();
      pool.join();
      return seconds_since(t0) * 1e3;
    });
    report("pool_map_1000_with_creation", who, "ms", f);
  }

  mp::Pool pool(processes);
  pool.map(trivial, std::vector<int>{1, 2, 3, 4});  // warm
  for (int n : quick ? std::vector<int>{1000} : std::vector<int>{1000, 10000, 100000}) {
    std::vector<int> in(static_cast<std::size_t>(n));
    std::iota(in.begin(), in.end(), 0);
    auto f = repeat(reps, [&] {
      auto t0 = std::chrono::steady_clock::now();
      auto out = pool.map(trivial, in);
      return seconds_since(t0) * 1e3;
    });
    report("pool_map_" + std::to_string(n), who, "ms", f);
  }
  {
    std::vector<int> in(quick ? 20 : 100);
    auto f = repeat(quick ? 1 : 3, [&] {
      auto t0 = std::chrono::steady_clock::now();
      auto out = pool.map(burn_10ms, in);
      return seconds_since(t0) * 1e3;
    });
    report(quick ? "pool_map_20x10ms" : "pool_map_100x10ms", who, "ms", f);
  }
  return 0;
}
