// Observing a process or thread from a test through /proc (Linux): conditions a test waits for,
// with eventually() (timing.hpp), instead of sleeping.
#pragma once

#include <sys/types.h>

#include <fstream>
#include <sstream>
#include <string>

namespace lithops::test {

// True when process `pid` ignores signal `sig` (its SigIgn mask in /proc/<pid>/status).
inline bool signal_ignored(pid_t pid, int sig) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("SigIgn:", 0) == 0) {
      const unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
      return ((mask >> (sig - 1)) & 1ULL) != 0;
    }
  }
  return false;
}

// True when thread `tid` of this process sleeps in the kernel (state S in its stat): a thread
// that entered a blocking recv/poll/wait and has nothing to do.
inline bool thread_sleeping(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = all.rfind(')');  // the command name may hold spaces and parentheses
  return paren != std::string::npos && paren + 2 < all.size() && all[paren + 2] == 'S';
}

}  // namespace lithops::test
