// The multiprocessing config module, as in Lithops:
//
//   mp::config::set_parameter(mp::config::LITHOPS_CONFIG, boost::json::parse(R"({...})"));
//
// Keys and defaults: LITHOPS_CONFIG ({}), STREAM_STDOUT (false), REDIS_EXPIRY_TIME (3600 seconds),
// PIPE_CONNECTION_TYPE ("redislist"), ENV_VARS ({}), EXPORT_EXECUTION_DETAILS (null: off, or a
// directory). A wrong key, type or value is rejected at set time with mp::ValueError naming the
// key, the expected type and the allowed values. The backend, store and pipe plugins are chosen the
// first time a Process, Pool or shared object needs them; later LITHOPS_CONFIG changes do not move
// a running session to another backend.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

namespace lithops::multiprocessing::config {

inline constexpr std::string_view LITHOPS_CONFIG = "LITHOPS_CONFIG";
inline constexpr std::string_view STREAM_STDOUT = "STREAM_STDOUT";
inline constexpr std::string_view REDIS_EXPIRY_TIME = "REDIS_EXPIRY_TIME";
inline constexpr std::string_view PIPE_CONNECTION_TYPE = "PIPE_CONNECTION_TYPE";
inline constexpr std::string_view ENV_VARS = "ENV_VARS";
inline constexpr std::string_view EXPORT_EXECUTION_DETAILS = "EXPORT_EXECUTION_DETAILS";

void set_parameter(std::string_view key, const boost::json::value& value);
boost::json::value get_parameter(std::string_view key);

}  // namespace lithops::multiprocessing::config
