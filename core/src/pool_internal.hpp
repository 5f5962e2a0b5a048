// Internals of Pool shared by the driver side (pool.cpp) and the worker side (pool_worker.cpp).
//
// Redis layout of one pool, under <session prefix>pool:<id>:
//   tasks        list of task chunks (JSON) and "STOP" sentinels, consumed by the workers
//   wip:<worker> the chunk a worker is running (moved there atomically with BLMOVE), so the
//                driver can fail exactly that chunk if the worker dies. It always holds a marker
//                element besides, created with its expiry in one script before the worker takes
//                a task: BLMOVE/LMOVE then only append to a list that exists and has an expiry,
//                so the key never exists without one (a BLMOVE into a missing key would create
//                it without). The worker deletes it when it exits.
//   results      chunk results, worker exits and lost-worker notices, consumed by the collector
//   alive        exists while the pool is usable; workers stop if it disappears
#pragma once

namespace lithops::multiprocessing::detail {

inline constexpr const char* kStopSentinel = "STOP";
inline constexpr const char* kWipMarker = "WIP";

}  // namespace lithops::multiprocessing::detail
