#include "test_functions.hpp"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <lithops/multiprocessing.hpp>

namespace lithops::test {

void write_file(std::string path, std::string text) {
  std::ofstream out(path + ".tmp");
  out << text;
  out.close();
  std::filesystem::rename(path + ".tmp", path);  // readers never see half a file
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string temp_dir() {
  // Leaked on purpose: the atexit handler must not see a destroyed static.
  static const std::string* dir = [] {
    char tmpl[] = "/tmp/lithops-test-XXXXXX";
    auto* d = new std::string(::mkdtemp(tmpl));
    std::atexit([] { std::filesystem::remove_all(temp_dir()); });
    return d;
  }();
  return *dir;
}

}  // namespace lithops::test

LITHOPS_FUNCTION_NAMED("write_file", lithops::test::write_file);
