// Remote functions shared by the integration tests (registered in test_functions.cpp).
#pragma once

#include <string>

namespace lithops::test {

// Writes `text` to `path` (a side effect the test can observe without shared objects).
void write_file(std::string path, std::string text);
std::string read_file(const std::string& path);
// A private temp directory, removed at exit.
std::string temp_dir();

}  // namespace lithops::test
