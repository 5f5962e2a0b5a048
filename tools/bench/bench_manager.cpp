// Manager and shared-memory benchmarks (issue 6), next to raw Redis on the same store, in one run:
//   redis_ping              this program's own Store PING round trip (a diagnostic: the targets
//                           divide by the floor run.py measures, tools/bench/report.py FLOOR)
//   manager_dict_set_get    d[k] = v then d[k], per pair (ms); redis-raw: HSET then HGET
//   manager_dict_ops        the same loop as operations per second (one set or get = one op)
//   shm_{read,write}_4KiB   SharedMemory read/write of a 4 KiB range at random offsets (MB/s);
//   shm_{read,write}_16MiB  redis-raw: GET/SET of one value of the same size
// Prints one JSON line per figure (bench_common.hpp). Usage: bench_manager [--quick]
#include <cstring>
#include <random>
#include <string>

#include <lithops/multiprocessing.hpp>

#include "../../core/src/runtime.hpp"
#include "bench_common.hpp"

namespace mp = lithops::multiprocessing;
namespace bench = lithops::bench;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  mp::init(argc, argv);
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int reps = quick ? 1 : 5;
  const int ops = quick ? 200 : 5000;
  auto& rt = mp::detail::Runtime::get();
  auto& store = rt.store();

  bench::report_ping(store, reps, ops, "ms");

  mp::Manager manager;
  {
    auto d = manager.dict<std::string, int>();
    const std::string hash = rt.prefix() + "bench:raw:hash";
    std::vector<std::string> keys;
    for (int i = 0; i < 100; ++i) keys.push_back("key" + std::to_string(i));
    auto ours = [&] {
      auto t0 = Clock::now();
      for (int i = 0; i < ops; ++i) {
        d[keys[i % 100]] = i;
        if (static_cast<int>(d[keys[i % 100]]) != i) std::abort();
      }
      return bench::seconds_since(t0);
    };
    auto raw = [&] {
      auto t0 = Clock::now();
      for (int i = 0; i < ops; ++i) {
        const std::string v = std::to_string(i);
        store.run({"HSET", hash, keys[i % 100], v});
        store.run({"HGET", hash, keys[i % 100]});
      }
      return bench::seconds_since(t0);
    };
    ours();
    raw();
    std::vector<double> ours_s, raw_s;
    for (int r = 0; r < reps; ++r) {
      ours_s.push_back(ours());
      raw_s.push_back(raw());
    }
    auto latency = [&](const std::vector<double>& s) {
      std::size_t i = 0;
      return bench::repeat(static_cast<int>(s.size()), [&] { return s[i++] * 1e3 / ops; });
    };
    auto rate = [&](const std::vector<double>& s) {
      std::size_t i = 0;
      return bench::repeat(static_cast<int>(s.size()), [&] { return 2.0 * ops / s[i++]; });
    };
    bench::report("manager_dict_set_get", "lithops-cpp", "ms", latency(ours_s));
    bench::report("manager_dict_set_get", "redis-raw", "ms", latency(raw_s));
    bench::report("manager_dict_ops", "lithops-cpp", "ops/s", rate(ours_s));
    bench::report("manager_dict_ops", "redis-raw", "ops/s", rate(raw_s));
    store.run({"DEL", hash});
  }

  struct Case {
    const char* label;
    std::size_t range;
    int count;  // transfers per repetition
  };
  const std::size_t block = quick ? (32u << 20) : (256u << 20);
  const std::vector<Case> cases{{"4KiB", 4096, quick ? 200 : 3000},
                                {"16MiB", 16u << 20, quick ? 2 : 10}};
  auto shm = manager.SharedMemory(static_cast<std::int64_t>(block));
  {
    // Fill it so reads move real bytes.
    const std::string piece(16u << 20, 'x');
    for (std::size_t off = 0; off < block; off += piece.size()) shm.write(off, piece);
  }
  const std::string raw_key = rt.prefix() + "bench:raw:blob";
  std::mt19937_64 rng(7);
  for (const auto& c : cases) {
    const std::string data(c.range, 'y');
    const double mb = static_cast<double>(c.range) * c.count / 1e6;
    auto offset = [&] { return rng() % (block - c.range + 1); };
    const std::string label = c.label;
    bench::report("shm_write_" + label, "lithops-cpp", "MB/s", bench::repeat(reps, [&] {
                    auto t0 = Clock::now();
                    for (int i = 0; i < c.count; ++i) shm.write(offset(), data);
                    return mb / bench::seconds_since(t0);
                  }));
    bench::report("shm_read_" + label, "lithops-cpp", "MB/s", bench::repeat(reps, [&] {
                    auto t0 = Clock::now();
                    for (int i = 0; i < c.count; ++i) shm.read(offset(), c.range);
                    return mb / bench::seconds_since(t0);
                  }));
    bench::report("shm_write_" + label, "redis-raw", "MB/s", bench::repeat(reps, [&] {
                    auto t0 = Clock::now();
                    for (int i = 0; i < c.count; ++i) store.run({"SET", raw_key, data});
                    return mb / bench::seconds_since(t0);
                  }));
    bench::report("shm_read_" + label, "redis-raw", "MB/s", bench::repeat(reps, [&] {
                    auto t0 = Clock::now();
                    for (int i = 0; i < c.count; ++i) store.run({"GET", raw_key});
                    return mb / bench::seconds_since(t0);
                  }));
  }
  store.run({"DEL", raw_key});
  manager.shutdown();
  return 0;
}
