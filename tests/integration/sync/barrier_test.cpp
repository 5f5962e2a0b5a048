// Barrier (conformance section 7): N = 5 parties, 4 child processes plus the test itself.
// Not ported: BA-12 (TestSyncManagerTypes: manager-only; parties() and reset() from a child are
// covered by BA06 and BA07 here).
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <lithops/multiprocessing.hpp>

#include "sync_test_util.hpp"

namespace mp = lithops::multiprocessing;
using namespace std::chrono_literals;
using lithops::test::Stopwatch;

namespace {
constexpr int kN = 5;

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

// The action finds its counter through a per-process global that every party sets before it
// waits: the action takes no arguments and runs in whichever party completes the round.
std::optional<mp::Value<int>> g_action_runs;
void count_action() { *g_action_runs += 1; }
void failing_action() { throw std::runtime_error("action failed"); }

// BA-01/02: lock-step passes (CPython's two result lists become two counters).
void ba_lockstep(mp::Barrier b, mp::Value<int> before, mp::Value<int> after, int passes) {
  for (int i = 0; i < passes; ++i) {
    before += 1;
    check(after.value() == i * kN, "a party went ahead before the pass");
    b.wait();
    after += 1;
    check(before.value() == (i + 1) * kN, "a party passed before all arrived");
    b.wait();
  }
}

// BA-03: the index each party gets, per round, into slot round * parties + party.
void ba_indices(mp::Barrier b, mp::Array<int> out, int party, int rounds) {
  for (int r = 0; r < rounds; ++r)
    out[static_cast<std::size_t>(r * b.parties() + party)] = b.wait();
}

// BA-04: after each pass, the action has run exactly pass + 1 times.
void ba_action(mp::Barrier b, mp::Value<int> runs, int passes) {
  g_action_runs = runs;
  for (int i = 0; i < passes; ++i) {
    b.wait();
    check(runs.value() == i + 1, "action ran " + std::to_string(runs.value()) + " times");
  }
}

// BA-05: abort() by one party: the others get BrokenBarrierError; waits on a broken barrier raise.
void ba_abort(mp::Barrier b, mp::Value<int> passed, mp::Value<int> broken) {
  try {
    int i = b.wait();
    if (i == kN / 2) {
      b.abort();
      return;
    }
    b.wait();
    passed += 1;
  } catch (const mp::BrokenBarrierError&) {
    broken += 1;
  }
}

// BA-06: reset() while N-1 parties wait: they get BrokenBarrierError; all then pass a third wait().
void ba_reset(mp::Barrier b, mp::Value<int> passed, mp::Value<int> broken, mp::Value<int> third) {
  int i = b.wait();
  if (i == kN / 2) {
    Stopwatch sw;
    while (b.n_waiting() < kN - 1) {
      check(sw.seconds() < 30, "parties never arrived");
      std::this_thread::sleep_for(1ms);
    }
    b.reset();
  } else {
    try {
      b.wait();
      passed += 1;
    } catch (const mp::BrokenBarrierError&) {
      broken += 1;
    }
  }
  b.wait();
  third += 1;
}

// BA-07: a barrier broken by abort() can be reset() (through a second barrier), then all N pass.
void ba_abort_and_reset(mp::Barrier b, mp::Barrier b2, mp::Value<int> passed, mp::Value<int> broken,
                        mp::Value<int> third) {
  try {
    int i = b.wait();
    if (i == kN / 2) throw std::logic_error("abort");
    b.wait();
    passed += 1;
  } catch (const mp::BrokenBarrierError&) {
    broken += 1;
  } catch (const std::logic_error&) {
    b.abort();
  }
  // Everyone must have left b before the reset, and nobody may enter it before.
  if (b2.wait() == kN / 2) b.reset();
  b2.wait();
  b.wait();
  third += 1;
}

// BA-08 / BA-09: one party is 1 s late; the others' 0.5 s timeout breaks the barrier for all.
void ba_timeout(mp::Barrier b, mp::Value<int> broken, bool use_default) {
  int i = b.wait(30s);
  if (i == kN / 2) std::this_thread::sleep_for(1s);
  Stopwatch sw;
  try {
    use_default ? b.wait() : b.wait(0.5s);
  } catch (const mp::BrokenBarrierError&) {
    if (i != kN / 2) check(sw.seconds() >= 0.4, "broke too early");
    broken += 1;
  }
}

// BA-11: no party ever runs a pass ahead.
void ba_thousand(mp::Barrier b, mp::Value<int> done, int passes) {
  for (int i = 0; i < passes; ++i) {
    b.wait();
    const int now = (done += 1);
    check(now > i * kN && now <= (i + 1) * kN,
          "pass " + std::to_string(i) + " saw " + std::to_string(now));
  }
}

template <class F, class... A>
void run_parties(int children, F fn, A... args) {
  std::vector<mp::Process> procs;
  for (int i = 0; i < children; ++i) procs.emplace_back(fn, args...);
  for (auto& p : procs) p.start();
  fn(args...);  // the test itself is the last party
  for (auto& p : procs) {
    p.join();
    EXPECT_EQ(p.exitcode(), 0) << p.name();
  }
}
}  // namespace

LITHOPS_FUNCTION(count_action);
LITHOPS_FUNCTION(failing_action);
LITHOPS_FUNCTION(ba_lockstep);
LITHOPS_FUNCTION(ba_indices);
LITHOPS_FUNCTION(ba_action);
LITHOPS_FUNCTION(ba_abort);
LITHOPS_FUNCTION(ba_reset);
LITHOPS_FUNCTION(ba_abort_and_reset);
LITHOPS_FUNCTION(ba_timeout);
LITHOPS_FUNCTION(ba_thousand);

// BA-01: 5 parties pass a Barrier in lock-step; afterwards n_waiting is 0 and broken is false.
TEST(Barrier, BA01_LockStep) {
  mp::Barrier b(kN, mp::Function{}, 30s);
  mp::Value<int> before(0), after(0);
  run_parties(kN - 1, ba_lockstep, b, before, after, 1);
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
  EXPECT_EQ(b.parties(), kN);
}

TEST(Barrier, BA02_TenPassesCyclic) {
  mp::Barrier b(kN, 30s);
  mp::Value<int> before(0), after(0);
  run_parties(kN - 1, ba_lockstep, b, before, after, 10);
  EXPECT_EQ(after.value(), 10 * kN);
  EXPECT_FALSE(b.broken());
}

TEST(Barrier, BA03_IndicesUniqueEachRoundFourProcessesThreeRounds) {
  constexpr int kParties = 4, kRounds = 3;
  mp::Barrier b(kParties, 30s);
  mp::Array<int> out(kParties * kRounds);
  std::vector<mp::Process> procs;
  for (int p = 0; p < kParties; ++p) procs.emplace_back(ba_indices, b, out, p, kRounds);
  lithops::test::run_all(procs);
  auto v = out.to_vector();
  for (int r = 0; r < kRounds; ++r) {
    std::vector<int> round(v.begin() + r * kParties, v.begin() + (r + 1) * kParties);
    std::sort(round.begin(), round.end());
    EXPECT_EQ(round, (std::vector<int>{0, 1, 2, 3})) << "round " << r;
  }
}

TEST(Barrier, BA04_ActionRunsOncePerPassBeforeRelease) {
  mp::Value<int> runs(0);
  mp::Barrier b(kN, count_action, 30s);
  run_parties(kN - 1, ba_action, b, runs, 3);
  EXPECT_EQ(runs.value(), 3);
}

TEST(Barrier, BA04_FailingActionBreaksTheBarrier) {
  mp::Barrier b(2, failing_action, 30s);
  int errors = 0, broken = 0;
  std::thread other([&] {
    try {
      b.wait();
    } catch (const mp::BrokenBarrierError&) {
      ++broken;
    } catch (const std::runtime_error&) {
      ++errors;
    }
  });
  try {
    b.wait();
  } catch (const mp::BrokenBarrierError&) {
    ++broken;
  } catch (const std::runtime_error&) {
    ++errors;
  }
  other.join();
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(broken, 1);
  EXPECT_TRUE(b.broken());
}

// BA-05: abort() by one party: the others get BrokenBarrierError; waits on a broken barrier raise.
TEST(Barrier, BA05_Abort) {
  mp::Barrier b(kN, 30s);
  mp::Value<int> passed(0), broken(0);
  run_parties(kN - 1, ba_abort, b, passed, broken);
  EXPECT_EQ(passed.value(), 0);
  EXPECT_EQ(broken.value(), kN - 1);
  EXPECT_TRUE(b.broken());
  Stopwatch sw;
  EXPECT_THROW(b.wait(), mp::BrokenBarrierError);
  EXPECT_QUICK(sw.seconds());
}

// BA-06: reset() while N-1 parties wait: they get BrokenBarrierError; all then pass a third wait().
TEST(Barrier, BA06_Reset) {
  mp::Barrier b(kN, 30s);
  mp::Value<int> passed(0), broken(0), third(0);
  run_parties(kN - 1, ba_reset, b, passed, broken, third);
  EXPECT_EQ(passed.value(), 0);
  EXPECT_EQ(broken.value(), kN - 1);
  EXPECT_EQ(third.value(), kN);
  EXPECT_FALSE(b.broken());
}

// BA-07: a barrier broken by abort() can be reset() (through a second barrier), then all N pass.
TEST(Barrier, BA07_AbortAndReset) {
  mp::Barrier b(kN, 30s), b2(kN, 30s);
  mp::Value<int> passed(0), broken(0), third(0);
  run_parties(kN - 1, ba_abort_and_reset, b, b2, passed, broken, third);
  EXPECT_EQ(passed.value(), 0);
  EXPECT_EQ(broken.value(), kN - 1);
  EXPECT_EQ(third.value(), kN);
}

// BA-08: wait(0.5) while one party is 1 s late: all N, the late one too, get BrokenBarrierError.
TEST(Barrier, BA08_Timeout) {
  mp::Barrier b(kN, 30s);
  mp::Value<int> broken(0);
  run_parties(kN - 1, ba_timeout, b, broken, false);
  EXPECT_EQ(broken.value(), kN);
  EXPECT_TRUE(b.broken());
}

// BA-09: Barrier(N, timeout=0.5): a plain wait() uses the default timeout, as BA-08.
TEST(Barrier, BA09_DefaultTimeout) {
  mp::Barrier b(kN, 0.5s);
  mp::Value<int> broken(0);
  run_parties(kN - 1, ba_timeout, b, broken, true);
  EXPECT_EQ(broken.value(), kN);
}

// BA-10: Barrier(1).wait() returns at once, repeatedly.
TEST(Barrier, BA10_SingleParty) {
  mp::Barrier b(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.wait(), 0);
  EXPECT_EQ(b.n_waiting(), 0);
}

// BA-11: 5 processes pass a barrier 1000 times; the pass indexes they send arrive in order.
TEST(Barrier, BA11_ThousandPasses) {
  mp::Barrier b(kN, 60s);
  mp::Value<int> done(0);
  run_parties(kN - 1, ba_thousand, b, done, 1000);
  EXPECT_EQ(done.value(), 1000 * kN);
}

TEST(Barrier, InvalidPartiesRaise) { EXPECT_THROW(mp::Barrier(0), mp::ValueError); }
