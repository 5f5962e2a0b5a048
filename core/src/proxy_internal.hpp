// Helpers shared by the Manager proxies and shared memory (dict_proxy.cpp, list_proxy.cpp,
// manager.cpp, shared_memory.cpp).
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "runtime.hpp"
#include "store.hpp"

namespace lithops::multiprocessing::detail {

inline Store& proxy_store() { return Runtime::get().store(); }

// A long double as text HINCRBYFLOAT / INCRBYFLOAT accept, without losing precision.
inline std::string float_text(long double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.21Lg", v);
  return buf;
}

// The replies of a pipeline, with the first error reply (if any) thrown as mp::OSError.
void check_replies(const std::vector<sdk::Reply>& replies);

// SM-10: at the end of a driver's session, unlinks the tracked SharedMemory blocks nobody
// unlinked, with a leak warning on stderr (shared_memory.cpp; called by Runtime::stop()). A
// no-op (no round trip) unless this process tracked a block or `workers_ran` (they may have).
void shm_session_end(Runtime& rt, bool workers_ran);
// Where SharedMemory/ShareableList take a generated "psm_<16 hex>" name from (CPython's
// _make_filename): a test may replace it to make the first name taken (SM-03).
std::function<std::string()>& shm_name_generator();

}  // namespace lithops::multiprocessing::detail
