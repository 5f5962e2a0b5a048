// The user program of the aws_lambda end-to-end tests: a driver whose output depends only on what
// its functions computed, so a run on the localhost backend and one through the Lambda emulator
// must print the same text. Packaged by `lithops runtime build`, the same executable is the
// worker: mp::init() serves the Lambda Runtime API there and never returns.
//
//   lambda_e2e_program <scenario>    scenarios: process pool_map exception crash storm payload
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
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
int square(int x) { return x * x; }
void throw_runtime(std::string what) { throw std::runtime_error(what); }
int fail_on_seven(int x) {
  if (x == 7) throw std::invalid_argument("seven is not allowed");
  return x;
}
void abort_now() { std::abort(); }
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

std::string big_argument() {
  std::string s(10 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>('a' + (i * 7919) % 26);
  return s;
}

}  // namespace

LITHOPS_FUNCTION(exit_with);
LITHOPS_FUNCTION(succeed);
LITHOPS_FUNCTION(square);
LITHOPS_FUNCTION(throw_runtime);
LITHOPS_FUNCTION(fail_on_seven);
LITHOPS_FUNCTION(abort_now);
LITHOPS_FUNCTION(sleep_then_exit);
LITHOPS_FUNCTION(exit_with_checksum);
LITHOPS_FUNCTION(size_and_checksum);

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
  } else {
    std::cerr << "usage: " << argv[0] << " process|pool_map|exception|crash|storm|payload\n";
    return 2;
  }
  return 0;
}
