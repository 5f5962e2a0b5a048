// Timing helpers of the queue and event tests.
#pragma once

#include <chrono>

namespace lithops::test {

// CPython's CLOCK_RES: a wait may end this much before its timeout and still pass.
inline constexpr double kClockRes = 0.1;
// Generous upper slack for a loaded 2-core CI machine.
inline constexpr double kSlack = 1.5;

class Stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }

 private:
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

}  // namespace lithops::test

// Elapsed time of a wait with timeout `t` seconds: not early, not much late.
#define EXPECT_TOOK_ABOUT(elapsed, t)                       \
  do {                                                      \
    EXPECT_GE((elapsed), (t) - ::lithops::test::kClockRes); \
    EXPECT_LE((elapsed), (t) + ::lithops::test::kSlack);    \
  } while (0)
// A non-blocking call: "at once".
#define EXPECT_QUICK(elapsed) EXPECT_LT((elapsed), 0.5)
