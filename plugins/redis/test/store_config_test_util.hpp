// Helpers shared by the redis plugin's configuration tests (redis_tls_test.cpp,
// redis_url_test.cpp): a store made from one `redis` section, and the message of the error a
// section must raise.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "redis_store.hpp"

namespace lithops::plugins::redis::test {

inline std::unique_ptr<RedisStore> make_store(const boost::json::object& section) {
  sdk::PluginContext ctx;
  ctx.config = &section;
  ctx.section = &section;
  return std::make_unique<RedisStore>(ctx);
}

// The what() of the E that making a store from `section` throws (a test failure if none).
template <typename E>
std::string error_of(const boost::json::object& section) {
  try {
    make_store(section);
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception for " << boost::json::serialize(section);
  return {};
}

inline bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace lithops::plugins::redis::test
