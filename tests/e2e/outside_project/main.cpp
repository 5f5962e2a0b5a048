// A user program built against the installed package only.
#include <iostream>
#include <vector>

#include <lithops/multiprocessing.hpp>

namespace mp = lithops::multiprocessing;

int square(int x) { return x * x; }
LITHOPS_FUNCTION(square);

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Pool pool(2);
  std::vector<int> in{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto out = pool.map(square, in);
  std::cout << "outside: pool.map =";
  for (int v : out) std::cout << ' ' << v;
  std::cout << std::endl;
  return 0;
}
