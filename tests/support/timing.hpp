// Timing in tests: the one place for slack, and waiting for an observable condition instead of
// sleeping. Every test (core, plugins, tools) takes its time bounds from here.
//
// Rules:
// - A test never sleeps to let something happen ("let them block"): it waits, with eventually(),
//   for a condition it can observe (a client blocked in Redis, a waiter registered, a file or a
//   pipe written, a socket listening). A sleep is only ever the work itself (a slow worker).
// - A timed wait of `t` seconds is checked with EXPECT_TOOK_ABOUT: not earlier than t - kClockRes
//   (CPython's CLOCK_RES), not later than t + late_slack().
// - A call that must not wait is checked with EXPECT_QUICK: under quick_bound() seconds.
// - Deadlines for an awaited condition (condition_deadline()) are not bounds: a passing test
//   returns as soon as the condition holds; the deadline only turns a hang into a failure.
//
// late_slack() and quick_bound() are the bounds a timed behaviour is allowed on a loaded 2-core
// machine (scheduler latency, a few Redis round trips); they are multiplied by the environment
// variable LITHOPS_TEST_TIME_SCALE (default 1; e.g. 3 under valgrind or a sanitizer) so that a
// slower build loosens every bound in one place instead of each test on its own.
#pragma once

#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

namespace lithops::test {

// CPython's CLOCK_RES: a wait may end this much before its timeout and still pass.
inline constexpr double kClockRes = 0.1;
// How late a timed wait may return, before scaling (seconds).
inline constexpr double kLateSlack = 1.0;
// What "at once" means for a call that must not wait, before scaling (seconds).
inline constexpr double kQuick = 0.5;

// LITHOPS_TEST_TIME_SCALE, or 1 when unset or not a number >= 1.
inline double time_scale() {
  static const double scale = [] {
    const char* text = std::getenv("LITHOPS_TEST_TIME_SCALE");
    if (text == nullptr) return 1.0;
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    return (end != text && v >= 1.0) ? v : 1.0;
  }();
  return scale;
}
inline double late_slack() { return kLateSlack * time_scale(); }
inline double quick_bound() { return kQuick * time_scale(); }
// The same bounds as durations, for tests that compare steady_clock durations.
inline std::chrono::milliseconds late_slack_ms() {
  return std::chrono::milliseconds(static_cast<long long>(late_slack() * 1000));
}
inline std::chrono::milliseconds quick_ms() {
  return std::chrono::milliseconds(static_cast<long long>(quick_bound() * 1000));
}

// Deadline for a condition that normally holds within milliseconds (not a bound: see above).
inline std::chrono::milliseconds condition_deadline() {
  return std::chrono::milliseconds(static_cast<long long>(30000 * time_scale()));
}

// Polls `holds` every 2 ms until it returns true (then true) or `within` passes (then false).
template <typename Predicate>
bool eventually(Predicate holds,
                std::chrono::steady_clock::duration within = condition_deadline()) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!holds()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

class Stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }

 private:
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

// The value of `field` (e.g. "blocked_clients") in the text of Redis' INFO; -1 if absent.
inline long long info_field(std::string_view info, std::string_view field) {
  std::size_t at = 0;
  while ((at = info.find(field, at)) != std::string_view::npos) {
    const bool line_start = at == 0 || info[at - 1] == '\n';
    const std::size_t colon = at + field.size();
    if (line_start && colon < info.size() && info[colon] == ':') {
      return std::strtoll(std::string(info.substr(colon + 1, 20)).c_str(), nullptr, 10);
    }
    at = colon;
  }
  return -1;
}

}  // namespace lithops::test

// Elapsed time of a wait with timeout `t` seconds: not early, not late beyond late_slack().
#define EXPECT_TOOK_ABOUT(elapsed, t)                          \
  do {                                                         \
    EXPECT_GE((elapsed), (t) - ::lithops::test::kClockRes);    \
    EXPECT_LE((elapsed), (t) + ::lithops::test::late_slack()); \
  } while (0)
// A call that must not wait: "at once" (a few round trips on a loaded machine).
#define EXPECT_QUICK(elapsed) EXPECT_LT((elapsed), ::lithops::test::quick_bound())
