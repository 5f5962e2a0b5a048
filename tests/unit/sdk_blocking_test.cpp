// lithops/sdk/blocking.hpp: the timeout argument of Redis blocking commands.
#include <gtest/gtest.h>

#include <chrono>

#include <lithops/sdk/blocking.hpp>

using namespace std::chrono_literals;
using lithops::sdk::seconds_text;

TEST(SdkBlocking, SecondsTextIsSecondsWithThreeDecimals) {
  EXPECT_EQ(seconds_text(2000ms), "2.000");
  EXPECT_EQ(seconds_text(250ms), "0.250");
  EXPECT_EQ(seconds_text(12345ms), "12.345");
  EXPECT_EQ(seconds_text(1005ms), "1.005");
  EXPECT_EQ(seconds_text(60s), "60.000");
  // Zero would mean "forever" to BLPOP: the shortest wait is one millisecond.
  EXPECT_EQ(seconds_text(0ms), "0.001");
  EXPECT_EQ(seconds_text(-5ms), "0.001");
}
