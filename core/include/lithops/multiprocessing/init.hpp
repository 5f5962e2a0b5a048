// mp::init: the first call of every program that uses Lithops (Python's `if __name__ ==
// "__main__"`).
#pragma once

namespace lithops::multiprocessing {

// In the driver: returns at once (the backend starts lazily, on first use).
// In a worker (the same executable, started by a backend): serves invocations and never returns;
// the process exits when the backend says so.
void init(int argc, char** argv);

// Stops this session's backend now: joins non-daemonic children, terminates daemonic ones, stops
// workers and the private redis-server. Runs by itself at exit; calling it early is optional.
void shutdown();

}  // namespace lithops::multiprocessing
