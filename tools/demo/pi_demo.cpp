// The quick-start demo: a Process hello-world and a Monte Carlo estimate of pi with a Pool, on the
// embedded default (localhost executor, a private redis-server), with their timings.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <lithops/multiprocessing.hpp>

namespace mp = lithops::multiprocessing;

namespace {

void greet(std::string name) {
  std::cout << "Hello " << name << "! (from " << mp::current_process().name << ", pid "
            << mp::current_process().pid.value_or(-1) << ")" << std::endl;
}

// Darts thrown at the unit square that land inside the quarter circle.
std::int64_t count_inside(std::int64_t seed, std::int64_t samples) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::int64_t inside = 0;
  for (std::int64_t i = 0; i < samples; ++i) {
    double x = unit(rng), y = unit(rng);
    if (x * x + y * y <= 1.0) ++inside;
  }
  return inside;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

LITHOPS_FUNCTION(greet);
LITHOPS_FUNCTION(count_inside);

int main(int argc, char** argv) {
  mp::init(argc, argv);  // in a worker this serves invocations and never returns

  const std::int64_t tasks = argc > 1 ? std::stoll(argv[1]) : 16;
  const std::int64_t samples = argc > 2 ? std::stoll(argv[2]) : 2'000'000;

  auto t0 = std::chrono::steady_clock::now();
  mp::Process p(greet, std::string("World"));
  p.start();
  p.join();
  std::printf("Process: exitcode %d, start->join %.1f ms (cold: starts the backend and a worker)\n",
              p.exitcode().value_or(-1), ms_since(t0));

  t0 = std::chrono::steady_clock::now();
  mp::Process warm(greet, std::string("again"));
  warm.start();
  warm.join();
  std::printf("Process: exitcode %d, start->join %.2f ms (warm worker)\n",
              warm.exitcode().value_or(-1), ms_since(t0));

  t0 = std::chrono::steady_clock::now();
  mp::Pool pool;
  std::vector<std::tuple<std::int64_t, std::int64_t>> work;
  for (std::int64_t i = 0; i < tasks; ++i) work.emplace_back(i + 1, samples);
  std::vector<std::int64_t> inside = pool.starmap(count_inside, work, 1);
  const double pool_ms = ms_since(t0);
  const std::int64_t hits = std::accumulate(inside.begin(), inside.end(), std::int64_t{0});
  const double pi = 4.0 * static_cast<double>(hits) / static_cast<double>(tasks * samples);
  std::printf("Pool(%d): pi ~= %.6f from %lld tasks x %lld samples in %.1f ms\n", pool.processes(),
              pi, static_cast<long long>(tasks), static_cast<long long>(samples), pool_ms);

  t0 = std::chrono::steady_clock::now();
  auto single = count_inside(1, samples);
  std::printf("one task in this process: %.1f ms (inside = %lld)\n", ms_since(t0),
              static_cast<long long>(single));
  return 0;
}
