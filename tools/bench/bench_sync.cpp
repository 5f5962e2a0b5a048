// Synchronisation benchmarks (issue 3), next to the Redis PING round trip on the same store:
//   redis_ping                    this program's own Store PING round trip (a diagnostic)
//   lock_acquire_release          uncontended Lock acquire + release (target <= 2.2x PING)
//   rlock_acquire_release         the same with an RLock
//   value_increment_locked        { lock_guard g(v.get_lock()); v.set(v.value() + 1); }
//   value_increment_atomic        v += 1: one server-side INCRBY (target <= 1.2x PING)
//   barrier_round_4proc           one Barrier round of 4 parties (3 child processes + this one)
// Ratios to the Redis floor are taken by tools/bench/run.py (its one definition of the floor); the
// redis_ping printed here is this program's own client, a diagnostic. One JSON line per figure
// (bench_common.hpp). Usage: bench_sync [ops] [barrier_rounds]
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>

#include <lithops/multiprocessing.hpp>

#include "../../core/src/runtime.hpp"
#include "bench_common.hpp"

namespace mp = lithops::multiprocessing;
namespace bench = lithops::bench;
using Clock = std::chrono::steady_clock;

namespace {
void barrier_party(mp::Barrier b, int rounds) {
  for (int i = 0; i < rounds; ++i) b.wait();
}
}  // namespace

LITHOPS_FUNCTION(barrier_party);

int main(int argc, char** argv) {
  mp::init(argc, argv);
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const int ops = quick ? 100 : argc > 1 ? std::atoi(argv[1]) : 2000;
  const int rounds = quick ? 20 : argc > 2 ? std::atoi(argv[2]) : 500;
  constexpr int kReps = 7;

  auto& store = mp::detail::Runtime::get().store();
  auto time_per_op = [](int n, auto&& body) {
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) body();
    return bench::seconds_since(t0) * 1e6 / n;
  };
  auto per_op = [&](int n, auto&& body) {
    return bench::repeat(kReps, [&] { return time_per_op(n, body); });
  };
  for (int i = 0; i < 200; ++i) store.run({"PING"});
  const auto ping = per_op(ops, [&] { store.run({"PING"}); });
  bench::report("redis_ping", "redis", "us", ping);

  mp::Lock lock;
  for (int i = 0; i < 100; ++i) {
    lock.acquire();
    lock.release();
  }
  auto lock_pair = [&] {
    lock.acquire();
    lock.release();
  };
  bench::report("lock_acquire_release", "lithops-cpp", "us", per_op(ops, lock_pair));

  mp::RLock rlock;
  auto rlock_pair = [&] {
    rlock.acquire();
    rlock.release();
  };
  bench::report("rlock_acquire_release", "lithops-cpp", "us", per_op(ops, rlock_pair));

  mp::Value<int> v(0);
  auto locked = [&] {
    std::lock_guard guard(v.get_lock());
    v.set(v.value() + 1);
  };
  bench::report("value_increment_locked", "lithops-cpp", "us", per_op(ops, locked));

  auto atomic = [&] { v += 1; };
  bench::report("value_increment_atomic", "lithops-cpp", "us", per_op(ops, atomic));

  {
    constexpr int kParties = 4;
    mp::Barrier b(kParties);
    const int total = rounds * kReps + 50;
    std::vector<mp::Process> children;
    for (int i = 0; i < kParties - 1; ++i) children.emplace_back(barrier_party, b, total);
    for (auto& c : children) c.start();
    for (int i = 0; i < 50; ++i) b.wait();  // warm-up: every child is up and waiting
    auto round = [&] { b.wait(); };
    bench::report("barrier_round_4proc", "lithops-cpp", "us", per_op(rounds, round));
    for (auto& c : children) c.join();
  }
  return 0;
}
