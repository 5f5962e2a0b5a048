// Remote functions and helpers shared by the pipe tests (registered in pipe_workers.cpp).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include <lithops/multiprocessing.hpp>

namespace lithops::test::pipes {
namespace mp = lithops::multiprocessing;

// Every test runs once per transport.
class PipeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    mp::config::set_parameter(mp::config::PIPE_CONNECTION_TYPE, boost::json::value(GetParam()));
  }
  void TearDown() override {
    mp::config::set_parameter(mp::config::PIPE_CONNECTION_TYPE, boost::json::value("redislist"));
  }
};

std::string transport_name(const ::testing::TestParamInfo<std::string>& info);

// Echoes every message back until "SENTINEL", then closes its end.
void echo(mp::Connection c);
// Sends each of `messages` as bytes, `gap_ms` apart, then returns (closing its end).
void send_all(mp::Connection c, std::vector<std::string> messages, int gap_ms);
// Sends 0..n-1 from a thread while receiving n ints and checking their order; reports "ok" or
// the first problem on `c` once both directions are done.
void pump(mp::Connection c, int n);
// Sends poll(timeout_ms) of `reader` on `report` without reading anything.
void poll_only(mp::Connection reader, mp::Connection report, int timeout_ms);
// Sends "ping", reads the echo, sends "SENTINEL", expects EOF; reports "<echo>+eof" on report.
void talk(mp::Connection c, mp::Connection report);
// Gets a Connection from `q` and echoes one message through it.
void echo_from_queue(mp::Queue<mp::Connection> q);

}  // namespace lithops::test::pipes
