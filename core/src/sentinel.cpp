#include <algorithm>
#include <map>
#include <mutex>

#include "runtime.hpp"
#include "sentinel_internal.hpp"

namespace lithops::multiprocessing::detail {
namespace {
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// How often a sentinel waiter looks at its stop token and at the local `ended` flag; the exit
// record itself ends the blocking read at once.
constexpr Millis kSentinelSlice{200};

std::mutex g_mutex;
long long g_next = 0;
std::map<long long, std::weak_ptr<SentinelState>> g_sentinels;
}  // namespace

long long register_sentinel(const std::shared_ptr<SentinelState>& sentinel) {
  std::lock_guard lock(g_mutex);
  if (g_sentinels.size() >= 64 && g_sentinels.size() % 64 == 0) {
    std::erase_if(g_sentinels, [](const auto& kv) { return kv.second.expired(); });
  }
  const long long number = ++g_next;
  g_sentinels.emplace(number, sentinel);
  return number;
}

std::shared_ptr<SentinelState> find_sentinel(long long number) {
  std::lock_guard lock(g_mutex);
  auto it = g_sentinels.find(number);
  return it == g_sentinels.end() ? nullptr : it->second.lock();
}

bool sentinel_ready(const SentinelState& s) {
  if (s.ended) return true;
  if (Runtime::get().store().run({"LLEN", s.result_key}).integer > 0) return true;
  return s.ended;  // taken between the two looks
}

bool wait_sentinel(const SentinelState& s, std::optional<Clock::time_point> deadline,
                   std::stop_token stop) {
  auto& store = Runtime::get().store();
  for (;;) {
    if (s.ended) return true;
    if (stop.stop_requested()) return false;
    Millis slice = kSentinelSlice;
    if (deadline) {
      const auto left = std::chrono::ceil<Millis>(*deadline - Clock::now());
      if (left <= Millis::zero()) return sentinel_ready(s);
      slice = std::min(slice, left);
    }
    // Reads the record without taking it (a one-element list moved onto itself), so join()
    // still finds it.
    const std::string secs = seconds_text(slice);
    if (!store.run({"BLMOVE", s.result_key, s.result_key, "LEFT", "LEFT", secs}).is_nil()) {
      return true;
    }
  }
}

}  // namespace lithops::multiprocessing::detail
