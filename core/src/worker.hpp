// The worker side: what a worker does with each payload the executor delivers.
#pragma once

#include <string>

#include <boost/json/object.hpp>

namespace lithops::multiprocessing::detail {

// Runs one payload to completion and reports through the store. Never throws: if the outcome
// cannot be reported, the worker process exits so the executor reports the invocation lost.
void handle_payload(const std::string& payload);

// The body of a Pool worker (pool_worker.cpp).
void run_pool_worker(const boost::json::object& payload);

// Sets ENV_VARS of the payload in this process's environment.
void apply_env(const boost::json::object& payload);

}  // namespace lithops::multiprocessing::detail
