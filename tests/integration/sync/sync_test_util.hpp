// Helpers of the synchronisation-primitive tests: timing checks and process fan-out.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include <lithops/multiprocessing.hpp>

#include "redis_probe.hpp"
#include "timing.hpp"

namespace lithops::test {

// Polls `v` (a test may poll; the library may not) until it equals `expected` or `seconds` pass.
bool eventually_equals(multiprocessing::Value<int>& v, int expected, double seconds = 30);

// Starts every process, then joins them and expects exit code 0 from each.
void run_all(std::vector<multiprocessing::Process>& procs);

}  // namespace lithops::test
