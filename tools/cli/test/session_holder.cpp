// A driver that holds a session open for the `lithops clean` / `lithops sessions` tests: it
// creates shared objects (so the session has keys besides its liveness key), prints "ready",
// and ends cleanly when its stdin reaches end of file. The config comes from
// LITHOPS_CONFIG_FILE, as for any Lithops program.
#include <iostream>
#include <string>

#include <lithops/multiprocessing.hpp>

namespace mp = lithops::multiprocessing;

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Value<int> counter(0);
  mp::Queue<std::string> queue;
  queue.put(std::string("held"));
  counter.set(1);
  std::cout << "ready" << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}
