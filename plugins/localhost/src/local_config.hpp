// The `localhost` section of the Lithops configuration.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace lithops::localhost {

struct LocalConfig {
  std::size_t max_workers = 4096;
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t prewarm = 0;
  std::vector<std::pair<std::string, std::string>> worker_env;

  // Reads the section; unknown keys are ignored (other tools share the section). Throws
  // sdk::ConfigError naming the key for a value of the wrong type or out of range.
  static LocalConfig parse(const boost::json::object* section);
};

}  // namespace lithops::localhost
