// Queue benchmarks (issue 3), next to the Redis PING round trip on the same store, in one run:
//   redis_ping            this program's own Store PING round trip (a diagnostic; the floor ratios
//                         divide by is run.py's, tools/bench/report.py FLOOR)
//   redis_list_roundtrip_child  bare RPUSH + BLPOP echoed by a child: what the next one costs
//                               with none of our code
//   queue_roundtrip_child put to a child and get its echo back (ping-pong), per round trip
//   queue_stream_100B     one producer process, one consumer, 100-byte strings, items per second
// Prints one JSON line per figure (bench_common.hpp). Usage: bench_queue [round_trips] [items]
#include <cstdlib>
#include <string>
#include <string_view>

#include <lithops/multiprocessing.hpp>

#include "../../core/src/runtime.hpp"
#include "bench_common.hpp"

namespace mp = lithops::multiprocessing;
namespace bench = lithops::bench;
using Clock = std::chrono::steady_clock;

namespace {
void echo(mp::Queue<int> in, mp::Queue<int> out) {
  for (int x = in.get(); x >= 0; x = in.get()) out.put(x);
}

// A queue round trip with none of our code: bare RPUSH / BLPOP on two lists through the same store.
void raw_echo(std::string in, std::string out) {
  auto& store = mp::detail::Runtime::get().store();
  for (;;) {
    auto v = store.blpop(in, std::nullopt);
    if (*v == "stop") return;
    store.run({"RPUSH", out, *v});
  }
}

void produce(mp::Queue<std::string> q, mp::Event go, int n) {
  const std::string item(100, 'x');
  go.wait();
  for (int i = 0; i < n; ++i) q.put(item);
}
}  // namespace

LITHOPS_FUNCTION(echo);
LITHOPS_FUNCTION(produce);
LITHOPS_FUNCTION(raw_echo);

int main(int argc, char** argv) {
  mp::init(argc, argv);
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const int round_trips = quick ? 100 : argc > 1 ? std::atoi(argv[1]) : 2000;
  const int items = quick ? 2000 : argc > 2 ? std::atoi(argv[2]) : 100000;
  constexpr int kReps = 5;

  auto& store = mp::detail::Runtime::get().store();
  bench::report_ping(store, kReps, round_trips);

  {
    const std::string in = mp::detail::Runtime::get().prefix() + "bench:raw:in";
    const std::string out = mp::detail::Runtime::get().prefix() + "bench:raw:out";
    mp::Process child(raw_echo, in, out);
    child.start();
    auto exchange = [&] {
      store.run({"RPUSH", in, "1"});
      store.blpop(out, std::nullopt);
    };
    for (int i = 0; i < 100; ++i) exchange();
    bench::report("redis_list_roundtrip_child", "redis", "us", bench::repeat(kReps, [&] {
                    auto t0 = Clock::now();
                    for (int i = 0; i < round_trips; ++i) exchange();
                    return bench::seconds_since(t0) * 1e6 / round_trips;
                  }));
    store.run({"RPUSH", in, "stop"});
    child.join();
  }

  {
    mp::Queue<int> in, out;
    mp::Process child(echo, in, out);
    child.start();
    for (int i = 0; i < 100; ++i) {  // warm-up: child started, connections open
      in.put(i);
      out.get();
    }
    bench::report("queue_roundtrip_child", "lithops-cpp", "us", bench::repeat(kReps, [&] {
                    auto t0 = Clock::now();
                    for (int i = 0; i < round_trips; ++i) {
                      in.put(i);
                      out.get();
                    }
                    return bench::seconds_since(t0) * 1e6 / round_trips;
                  }));
    in.put(-1);
    child.join();
  }

  bench::report("queue_stream_100B", "lithops-cpp", "items/s",
                bench::repeat(bench::reps_for(quick), [&] {
                  mp::Queue<std::string> q;
                  mp::Event go;
                  mp::Process child(produce, q, go, items);
                  child.start();
                  go.set();
                  auto t0 = Clock::now();
                  for (int i = 0; i < items; ++i) q.get();
                  const double s = bench::seconds_since(t0);
                  child.join();
                  return items / s;
                }));
  return 0;
}
