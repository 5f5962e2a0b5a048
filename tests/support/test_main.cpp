// main() of every core test binary. The binary is also the worker the localhost executor starts:
// mp::init() serves invocations there and never returns, exactly as in a user program.
#include <gtest/gtest.h>

#include <lithops/multiprocessing.hpp>

#include "scenario.hpp"
#include "tls_redis.hpp"

int main(int argc, char** argv) {
  lithops::multiprocessing::init(argc, argv);
  if (int code = lithops::test::run_scenario_if_requested(argc, argv); code >= 0) return code;
  // LITHOPS_TEST_REDIS_TLS=1: the Redis-backed tests run against a TLS redis-server.
  lithops::test::start_tls_harness_if_requested();
  testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  lithops::test::report_tls_harness();
  return result;
}
