#include "sync_test_util.hpp"

#include <thread>

namespace lithops::test {

bool eventually_equals(multiprocessing::Value<int>& v, int expected, double seconds) {
  Stopwatch sw;
  while (sw.seconds() < seconds) {
    if (v.value() == expected) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return v.value() == expected;
}

void run_all(std::vector<multiprocessing::Process>& procs) {
  for (auto& p : procs) p.start();
  for (auto& p : procs) {
    p.join();
    EXPECT_EQ(p.exitcode(), 0) << p.name();
  }
}

void sleep_s(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

}  // namespace lithops::test
