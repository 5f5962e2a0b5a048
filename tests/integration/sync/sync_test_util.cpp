#include "sync_test_util.hpp"

#include <thread>

namespace lithops::test {

bool eventually_equals(multiprocessing::Value<int>& v, int expected, double seconds) {
  return eventually([&] { return v.value() == expected; },
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(seconds * time_scale())));
}

void run_all(std::vector<multiprocessing::Process>& procs) {
  for (auto& p : procs) p.start();
  for (auto& p : procs) {
    p.join();
    EXPECT_EQ(p.exitcode(), 0) << p.name();
  }
}

}  // namespace lithops::test
