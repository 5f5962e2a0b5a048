// Pipe benchmarks (issue 4), both transports, in one run:
//   redis_ping            this program's own Store PING round trip (a diagnostic; the floor
//                         ratios divide by is run.py's, tools/bench/report.py FLOOR)
//   pipe_roundtrip_child  send_bytes to a child that echoes it back (ping-pong), per round trip
//   pipe_stream_<size>    one-way: the parent sends n messages, a child receives them and answers
//                         once; messages/s and MB/s (10^6 bytes/s)
// Contenders "redislist" and "nanomsg". Prints one JSON line per figure (bench_common.hpp); the
// CPython baseline is tools/bench/python/pipe_baseline.py.
// Usage: bench_pipe [round_trips] [scale]   (scale multiplies the stream message counts)
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
void pong(mp::Connection c) {
  for (std::string m = c.recv_bytes(); m != "stop"; m = c.recv_bytes()) c.send_bytes(m);
}

void drain(mp::Connection c, int n) {
  c.send_bytes(c.recv_bytes());  // "warm": ready
  for (int i = 0; i < n; ++i) c.recv_bytes();
  c.send_bytes("done");
}

struct Stream {
  const char* name;
  std::size_t size;
  int count;
};
}  // namespace

LITHOPS_FUNCTION(pong);
LITHOPS_FUNCTION(drain);

int main(int argc, char** argv) {
  mp::init(argc, argv);
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const int round_trips = quick ? 100 : argc > 1 ? std::atoi(argv[1]) : 2000;
  const double scale = quick ? 0.02 : argc > 2 ? std::atof(argv[2]) : 1.0;
  constexpr int kReps = 5;

  auto& store = mp::detail::Runtime::get().store();
  bench::report_ping(store, kReps, round_trips);

  const Stream streams[] = {{"100B", 100, static_cast<int>(20000 * scale)},
                            {"64KiB", 64 << 10, static_cast<int>(2000 * scale)},
                            {"4MiB", 4 << 20, static_cast<int>(100 * scale)}};

  for (const char* transport : {"redislist", "nanomsg"}) {
    mp::config::set_parameter(mp::config::PIPE_CONNECTION_TYPE, boost::json::value(transport));
    {
      auto [a, b] = mp::Pipe();
      mp::Process p(pong, b);
      p.start();
      b.close();
      const std::string msg(16, 'p');
      for (int i = 0; i < 200; ++i) {
        a.send_bytes(msg);
        a.recv_bytes();
      }
      bench::report("pipe_roundtrip_child", std::string("lithops-cpp/") + transport, "us",
                    bench::repeat(kReps, [&] {
                      auto t0 = Clock::now();
                      for (int i = 0; i < round_trips; ++i) {
                        a.send_bytes(msg);
                        a.recv_bytes();
                      }
                      return bench::seconds_since(t0) * 1e6 / round_trips;
                    }));
      a.send_bytes("stop");
      p.join();
    }
    for (const auto& s : streams) {
      const std::string msg(s.size, 's');
      std::vector<double> seconds;
      for (int rep = 0; rep < kReps; ++rep) {
        auto [a, b] = mp::Pipe();
        mp::Process p(drain, b, s.count);
        p.start();
        b.close();
        a.send_bytes("warm");  // the child has attached (and connected) before the clock starts
        a.recv_bytes();
        auto t0 = Clock::now();
        for (int i = 0; i < s.count; ++i) a.send_bytes(msg);
        a.recv_bytes();  // "done": the child received them all
        seconds.push_back(bench::seconds_since(t0));
        p.join();
      }
      std::vector<double> rate, mbps;
      for (double t : seconds) {
        rate.push_back(s.count / t);
        mbps.push_back(static_cast<double>(s.count) * static_cast<double>(s.size) / t / 1e6);
      }
      const std::string workload = std::string("pipe_stream_") + s.name;
      bench::report(workload, std::string("lithops-cpp/") + transport, "msg/s",
                    bench::repeat(kReps, [&, i = 0]() mutable { return rate[i++]; }));
      bench::report(workload, std::string("lithops-cpp/") + transport, "MB/s",
                    bench::repeat(kReps, [&, i = 0]() mutable { return mbps[i++]; }));
    }
  }
  return 0;
}
