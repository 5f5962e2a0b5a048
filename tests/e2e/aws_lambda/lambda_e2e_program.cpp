// The user program of the aws_lambda end-to-end tests: a driver whose output depends only on what
// its functions computed, so a run on the localhost backend and one through the Lambda emulator
// must print the same text. Packaged by `lithops runtime build`, the same executable is the
// worker: mp::init() serves the Lambda Runtime API there and never returns.
//
//   lambda_e2e_program <scenario>
//   scenarios: process pool_map exception crash storm payload queue lock sequential
//   traceback (prints where the throw is, then the traceback the driver got)
//   lost (a Process and a Pool task whose function aborts: exit code, reason, join not hanging)
//   environment (not comparable across backends: prints what two functions saw)
#include <unistd.h>
#include <algorithm>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <lithops/multiprocessing.hpp>

namespace mp = lithops::multiprocessing;

namespace {

void exit_with(int code) { std::exit(code); }
void succeed() {}
// Ends with `code` by unwinding (Python's sys.exit): the worker stays warm for the next one.
void sys_exit_with(int code) { mp::sys_exit(code); }
int square(int x) { return x * x; }
void throw_runtime(std::string what) { throw std::runtime_error(what); }
int fail_on_seven(int x) {
  if (x == 7) throw std::invalid_argument("seven is not allowed");
  return x;
}
void abort_now() { std::abort(); }
// The traceback test looks for this function's name and the line of its throw.
constexpr int kBoomLine = __LINE__ + 1;
int throw_boom(int x) { throw std::out_of_range("boom " + std::to_string(x)); }
void sleep_then_exit(int ms, int code) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  std::exit(code);
}
// A checksum of a large argument, as an exit code (0..99) and as a result.
long long checksum(const std::string& data) {
  long long sum = 0;
  for (unsigned char c : data) sum = (sum * 31 + c) % 1'000'000'007;
  return sum;
}
void exit_with_checksum(std::string data) { std::exit(static_cast<int>(checksum(data) % 100)); }
long long size_and_checksum(std::string data) {
  return static_cast<long long>(data.size()) * 1000 + checksum(data) % 1000;
}

// Queue across functions: each function puts its own items into the one queue the driver reads.
void put_items(mp::Queue<int> q, int function, int items) {
  for (int k = 0; k < items; ++k) q.put(function * 100 + k);
}
// Lock across functions: a read-modify-write of two separate store calls, correct only if the lock
// really excludes the other functions (an unprotected run loses increments).
void add_under_lock(mp::Value<int> total, mp::Lock lock, int times) {
  for (int i = 0; i < times; ++i) {
    std::unique_lock guard(lock, std::chrono::seconds(60));
    if (!guard) throw std::runtime_error("could not take the lock within 60 s");
    const int seen = total.value();
    std::this_thread::yield();
    total.set(seen + 1);
  }
}

// What the function's environment looked like: the Runtime API address it was given, its pid.
void report_environment(mp::Queue<std::string> q) {
  const char* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
  q.put(std::string(api ? api : "(unset)") + " pid=" + std::to_string(::getpid()));
}

std::string big_argument() {
  std::string s(10 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>('a' + (i * 7919) % 26);
  return s;
}

}  // namespace

LITHOPS_FUNCTION(exit_with);
LITHOPS_FUNCTION(succeed);
LITHOPS_FUNCTION(sys_exit_with);
LITHOPS_FUNCTION(square);
LITHOPS_FUNCTION(throw_runtime);
LITHOPS_FUNCTION(fail_on_seven);
LITHOPS_FUNCTION(abort_now);
LITHOPS_FUNCTION(throw_boom);
LITHOPS_FUNCTION(sleep_then_exit);
LITHOPS_FUNCTION(exit_with_checksum);
LITHOPS_FUNCTION(size_and_checksum);
LITHOPS_FUNCTION(put_items);
LITHOPS_FUNCTION(add_under_lock);
LITHOPS_FUNCTION(report_environment);

int main(int argc, char** argv) {
  mp::init(argc, argv);
  const std::string scenario = argc > 1 ? argv[1] : "";
  if (scenario == "process") {
    mp::Process ok(succeed);
    mp::Process three(exit_with, 3);
    ok.start();
    three.start();
    ok.join();
    three.join();
    std::cout << "succeed exitcode=" << ok.exitcode().value_or(999) << "\n";
    std::cout << "exit_with(3) exitcode=" << three.exitcode().value_or(999) << "\n";
  } else if (scenario == "pool_map") {
    std::vector<int> input(1000);
    std::iota(input.begin(), input.end(), 0);
    mp::Pool pool(4);
    const auto r = pool.map(square, input);
    long long sum = 0;
    bool ordered = r.size() == input.size();
    for (std::size_t i = 0; i < r.size(); ++i) {
      sum += r[i];
      ordered = ordered && r[i] == input[i] * input[i];
    }
    std::cout << "pool.map of " << r.size() << " tasks: sum=" << sum
              << " in order=" << (ordered ? "yes" : "no") << "\n";
  } else if (scenario == "exception") {
    mp::Process p(throw_runtime, std::string("boom"));
    p.start();
    p.join();
    std::cout << "raising process exitcode=" << p.exitcode().value_or(999) << "\n";
    mp::Pool pool(2);
    try {
      pool.map(fail_on_seven, std::vector<int>{1, 2, 7, 9});
      std::cout << "no exception\n";
    } catch (const std::invalid_argument& e) {
      std::cout << "pool.map raised std::invalid_argument: " << e.what() << "\n";
    }
  } else if (scenario == "crash") {
    mp::Process p(abort_now);
    p.start();
    p.join();
    std::cout << "aborting process exitcode=" << p.exitcode().value_or(999) << "\n";
  } else if (scenario == "storm") {
    std::vector<std::unique_ptr<mp::Process>> ps;
    for (int i = 0; i < 50; ++i) {
      ps.push_back(std::make_unique<mp::Process>(sleep_then_exit, 20, i % 5));
      ps.back()->start();
    }
    int sum = 0;
    int done = 0;
    for (auto& p : ps) {
      p->join();
      if (p->exitcode()) {
        ++done;
        sum += *p->exitcode();
      }
    }
    std::cout << "storm: " << done << " of 50 processes finished, exit codes sum=" << sum << "\n";
  } else if (scenario == "payload") {
    const auto data = big_argument();
    mp::Process p(exit_with_checksum, data);
    p.start();
    p.join();
    std::cout << "10 MB argument: process exitcode=" << p.exitcode().value_or(999)
              << " expected=" << checksum(data) % 100 << "\n";
    mp::Pool pool(1);
    std::cout << "10 MB argument: pool.apply=" << pool.apply(size_and_checksum, data)
              << " expected=" << size_and_checksum(data) << "\n";
  } else if (scenario == "queue") {
    constexpr int kFunctions = 8;
    constexpr int kItems = 5;
    mp::Queue<int> q;
    std::vector<std::unique_ptr<mp::Process>> ps;
    for (int f = 0; f < kFunctions; ++f) {
      ps.push_back(std::make_unique<mp::Process>(put_items, q, f, kItems));
      ps.back()->start();
    }
    std::vector<int> got;
    for (int i = 0; i < kFunctions * kItems; ++i) got.push_back(q.get(std::chrono::seconds(120)));
    int failed = 0;
    for (auto& p : ps) {
      p->join(std::chrono::seconds(120));
      failed += p->exitcode().value_or(999) != 0 ? 1 : 0;
    }
    std::sort(got.begin(), got.end());
    bool all = got.size() == kFunctions * kItems;
    for (int f = 0; all && f < kFunctions; ++f) {
      for (int k = 0; k < kItems; ++k) all = all && got[f * kItems + k] == f * 100 + k;
    }
    std::cout << "queue: " << got.size() << " items from " << kFunctions
              << " functions, each exactly once=" << (all ? "yes" : "no")
              << ", failed functions=" << failed << "\n";
  } else if (scenario == "lock") {
    constexpr int kFunctions = 8;
    constexpr int kTimes = 25;
    mp::Lock lock;
    mp::Value<int> total(0, mp::no_lock);
    std::vector<std::unique_ptr<mp::Process>> ps;
    for (int f = 0; f < kFunctions; ++f) {
      ps.push_back(std::make_unique<mp::Process>(add_under_lock, total, lock, kTimes));
      ps.back()->start();
    }
    int failed = 0;
    for (auto& p : ps) {
      p->join(std::chrono::seconds(240));
      failed += p->exitcode().value_or(999) != 0 ? 1 : 0;
    }
    std::cout << "lock: " << kFunctions << " functions x " << kTimes
              << " increments under one lock, total=" << total.value()
              << ", failed functions=" << failed << "\n";
  } else if (scenario == "sequential") {
    // Back to back: each start() comes right after the previous join() returned.
    int ok = 0;
    for (int i = 0; i < 200; ++i) {
      mp::Process p(sys_exit_with, i % 2 == 0 ? 0 : 7);
      p.start();
      if (!p.join(std::chrono::seconds(60))) break;
      ok += p.exitcode() == (i % 2 == 0 ? 0 : 7) ? 1 : 0;
    }
    std::cout << "sequential: " << ok << " of 200 processes ended with their own exit code\n";
  } else if (scenario == "traceback") {
    std::cout << "throw at lambda_e2e_program.cpp:" << kBoomLine << "\n";
    mp::Pool pool(1);
    try {
      pool.apply(throw_boom, 5);
      std::cout << "no exception\n";
    } catch (const std::out_of_range& e) {
      std::cout << mp::format_exception(e) << "\n";
    }
  } else if (scenario == "lost") {
    mp::Process p(abort_now);
    p.start();
    const bool ended = p.join(std::chrono::seconds(120));
    std::cout << "lost process: join returned=" << (ended ? "yes" : "no (hang)")
              << " exitcode=" << p.exitcode().value_or(999)
              << " reason set=" << (p.exit_reason() ? "yes" : "no") << "\n";
    if (auto reason = p.exit_reason()) std::cout << "reason: " << *reason << "\n";
    mp::Pool pool(1);
    try {
      pool.apply(abort_now);
      std::cout << "lost pool task: no exception\n";
    } catch (const mp::ProcessError& e) {
      std::cout << "lost pool task: ProcessError: " << e.what() << "\n";
    }
  } else if (scenario == "environment") {
    mp::Queue<std::string> q;
    mp::Process a(report_environment, q);
    mp::Process b(report_environment, q);
    a.start();
    b.start();
    std::cout << q.get(std::chrono::seconds(120)) << "\n"
              << q.get(std::chrono::seconds(120)) << "\n";
    a.join(std::chrono::seconds(120));
    b.join(std::chrono::seconds(120));
  } else {
    std::cerr << "usage: " << argv[0]
              << " process|pool_map|exception|crash|storm|payload|queue|lock|sequential|traceback|"
                 "lost|environment\n";
    return 2;
  }
  return 0;
}
