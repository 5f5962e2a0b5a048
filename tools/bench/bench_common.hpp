// Shared helpers of the benchmark programs: repetitions, median/min/max, one JSON line per figure.
// Every figure carries its repetition count; tools/bench/run.py refuses a full report with a figure
// of fewer than kMinReps repetitions (--quick runs each workload once: a smoke test).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace lithops::bench {

inline constexpr int kMinReps = 5;

// Repetitions of a full run (kMinReps) or of a --quick smoke run (1).
inline int reps_for(bool quick) { return quick ? 1 : kMinReps; }

struct Figure {
  double median = 0, min = 0, max = 0;
  int reps = 0;
};

// The median of an odd count is its middle value; of an even count, the mean of the two middle
// ones (as Python's statistics.median, which the CPython baselines use).
inline Figure summarise(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  const double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return Figure{median, v.front(), v.back(), static_cast<int>(n)};
}

// Runs `body` `reps` times; each run returns the measured value (e.g. microseconds per op).
inline Figure repeat(int reps, const std::function<double()>& body) {
  std::vector<double> v;
  for (int i = 0; i < reps; ++i) v.push_back(body());
  return summarise(std::move(v));
}

// Prints {"workload":..., "contender":..., "unit":..., "median":..., "min":..., "max":...,
// "reps":...}.
inline void report(const std::string& workload, const std::string& contender,
                   const std::string& unit, const Figure& f) {
  std::printf(
      "{\"workload\": \"%s\", \"contender\": \"%s\", \"unit\": \"%s\", \"median\": %.6g, "
      "\"min\": %.6g, \"max\": %.6g, \"reps\": %d}\n",
      workload.c_str(), contender.c_str(), unit.c_str(), f.median, f.min, f.max, f.reps);
  std::fflush(stdout);
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A diagnostic every program reports first (no ratio divides by it; the floor is run.py's,
// tools/bench/report.py FLOOR): `n` PINGs through the program's own store
// (after 200 to warm the connection), per PING in `unit` ("us" or "ms"), `reps` times.
template <class Store>
void report_ping(Store& store, int reps, int n, const std::string& unit = "us") {
  for (int i = 0; i < 200; ++i) store.run({"PING"});
  const double scale = unit == "ms" ? 1e3 : 1e6;
  report("redis_ping", "redis", unit, repeat(reps, [&] {
           const auto t0 = std::chrono::steady_clock::now();
           for (int i = 0; i < n; ++i) store.run({"PING"});
           return seconds_since(t0) * scale / n;
         }));
}

}  // namespace lithops::bench
