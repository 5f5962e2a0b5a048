// A user's program as the public headers meet it: every header included and the common templates
// instantiated, compiled by tests/unit/CMakeLists.txt at -O3 with -Wall -Wextra -Werror (and at
// -O2, -Os), whatever the build type of the project. GCC's optimiser-time warnings (-Wrestrict,
// -Wstringop-overflow, -Wmaybe-uninitialized) only show at high optimisation in the user's own
// translation units; this test fails if a header makes a user's -Werror build fail.
#include <lithops/multiprocessing.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mp = lithops::multiprocessing;

namespace {

int square(int x) { return x * x; }
std::string shout(std::string s) { return s + "!"; }
void consume(mp::Queue<std::string> q, mp::Value<double> v, mp::Array<std::int64_t> a) {
  q.put(std::to_string(v.value() + static_cast<double>(a[0])));
}

}  // namespace

LITHOPS_FUNCTION(square);
LITHOPS_FUNCTION(shout);
LITHOPS_FUNCTION(consume);

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Value<int> i(1);
  mp::Value<unsigned long long> u(2);
  mp::Value<short> s(3);
  mp::Value<float> f(1.5f);
  mp::Value<double> d(2.5);
  mp::Value<bool> b(true);
  mp::Value<char> c('x');
  mp::Value<std::string> str(std::string("text"));
  mp::Array<std::int64_t> arr(4);
  mp::Array<char> chars(8);
  chars.set_value("abc");
  mp::Queue<std::string> q;
  mp::JoinableQueue<int> jq(4);
  mp::SimpleQueue<std::vector<int>> sq;
  mp::Lock lock;
  mp::RLock rlock;
  mp::Semaphore sem(2);
  mp::BoundedSemaphore bsem(1);
  mp::Condition cond;
  mp::Event ev;
  mp::Barrier barrier(1);
  auto [left, right] = mp::Pipe();
  left.send(std::string("hello"));
  mp::Process p(consume, q, d, arr);
  p.start();
  p.join();
  mp::Pool pool(2);
  std::vector<int> r = pool.map(square, std::vector<int>{1, 2, 3});
  auto async = pool.apply_async(shout, std::string("hi"));
  mp::Manager manager;
  auto dict = manager.dict<std::string, int>();
  auto list = manager.list<double>();
  dict.set("a", r.at(0));
  list.append(f.value());
  mp::SharedMemory shm(64);
  return (i.value() + static_cast<int>(u.value()) + s.value() + static_cast<int>(b.value()) +
          c.value() + static_cast<int>(str.value().size()) + static_cast<int>(async.get().size()) +
          static_cast<int>(right.recv<std::string>().size()) + static_cast<int>(ev.is_set()) +
          static_cast<int>(sem.get_value())) > 0
             ? 0
             : 1;
}
