// Internals of Pool shared by the driver side (pool.cpp) and the worker side (pool_worker.cpp).
//
// Redis layout of one pool, under <session prefix>pool:<id>:
//   tasks        list of task chunks (JSON) and "STOP" sentinels, consumed by the workers
//   wip:<worker> the chunk a worker is running (moved there atomically with BLMOVE), so the
//                driver can fail exactly that chunk if the worker dies
//   results      chunk results, worker exits and lost-worker notices, consumed by the collector
//   alive        exists while the pool is usable; workers stop if it disappears
#pragma once

namespace lithops::multiprocessing::detail {

inline constexpr const char* kStopSentinel = "STOP";

}  // namespace lithops::multiprocessing::detail
