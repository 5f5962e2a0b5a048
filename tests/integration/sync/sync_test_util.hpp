// Helpers of the synchronisation-primitive tests: timing checks and process fan-out.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include <lithops/multiprocessing.hpp>

namespace lithops::test {

// CPython's CLOCK_RES: a wait may end this much before its timeout and still pass.
inline constexpr double kClockRes = 0.1;
// Generous upper slack for a loaded 2-core CI machine.
inline constexpr double kSlack = 2.0;

class Stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }

 private:
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

// Polls `v` (a test may poll; the library may not) until it equals `expected` or `seconds` pass.
bool eventually_equals(multiprocessing::Value<int>& v, int expected, double seconds = 30);

// Starts every process, then joins them and expects exit code 0 from each.
void run_all(std::vector<multiprocessing::Process>& procs);

void sleep_s(double seconds);

}  // namespace lithops::test

// Elapsed time of a wait with timeout `t` seconds: not early, not much late.
#define EXPECT_TOOK_ABOUT(elapsed, t)                       \
  do {                                                      \
    EXPECT_GE((elapsed), (t) - ::lithops::test::kClockRes); \
    EXPECT_LE((elapsed), (t) + ::lithops::test::kSlack);    \
  } while (0)
// A non-blocking call: "at once" (a few round trips on a loaded machine).
#define EXPECT_QUICK(elapsed) EXPECT_LT((elapsed), 0.5)
