// Event benchmark (issue 3), next to the Redis PING round trip on the same store:
//   redis_ping              Store PING round trip
//   event_pingpong_child    set() in one process wakes wait() in a child, which clears and sets
//                           a second event back: per round trip (two set->wake hops)
// Usage: bench_event [round_trips]
#include <cstdlib>
#include <string_view>

#include <lithops/multiprocessing.hpp>

#include "../../core/src/runtime.hpp"
#include "bench_common.hpp"

namespace mp = lithops::multiprocessing;
namespace bench = lithops::bench;
using Clock = std::chrono::steady_clock;

namespace {
void pong(mp::Event ping, mp::Event back, int n) {
  for (int i = 0; i < n; ++i) {
    ping.wait();
    ping.clear();
    back.set();
  }
}
}  // namespace

LITHOPS_FUNCTION(pong);

int main(int argc, char** argv) {
  mp::init(argc, argv);
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const int round_trips = quick ? 50 : argc > 1 ? std::atoi(argv[1]) : 1000;
  constexpr int kReps = 5;
  constexpr int kWarmup = 50;

  auto& store = mp::detail::Runtime::get().store();
  bench::report_ping(store, kReps, round_trips);

  mp::Event ping, back;
  mp::Process child(pong, ping, back, kWarmup + kReps * round_trips);
  child.start();
  auto exchange = [&] {
    ping.set();
    back.wait();
    back.clear();
  };
  for (int i = 0; i < kWarmup; ++i) exchange();
  bench::report("event_pingpong_child", "lithops-cpp", "us", bench::repeat(kReps, [&] {
                  auto t0 = Clock::now();
                  for (int i = 0; i < round_trips; ++i) exchange();
                  return bench::seconds_since(t0) * 1e6 / round_trips;
                }));
  child.join();
  return 0;
}
