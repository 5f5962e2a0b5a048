// Helpers for plugins that keep state in the StateStore (pipe transports): a command whose error
// reply throws, and a blocking command with a deadline. Header-only; not part of the ABI.
//
// The policy is the core's: long waits are cut into slices so a lost server surfaces as an error
// instead of a hang, and each call bounds its client-side wait by the slice plus a margin.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lithops/sdk/errors.hpp"
#include "lithops/sdk/state_store.hpp"

namespace lithops::sdk {

inline constexpr std::chrono::milliseconds kCommandTimeout{30000};  // non-blocking commands
inline constexpr std::chrono::milliseconds kBlockingSlice{2000};
inline constexpr std::chrono::milliseconds kBlockingMargin{5000};

// "0.250": a Redis blocking-command timeout in seconds (Redis >= 6 takes fractions).
inline std::string seconds_text(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", std::max<long long>(d.count(), 1) / 1000.0);
  return buf;
}

// Runs one command; an error reply throws ConnectionError naming the command and the server.
inline Reply run_checked(StateStore& store, std::vector<std::string_view> args,
                         std::chrono::milliseconds timeout = kCommandTimeout) {
  Reply r = store.execute(args, timeout);
  if (r.is_error()) {
    throw ConnectionError(store.endpoint() + " answered " + std::string(args.front()) +
                          " with an error: " + r.str);
  }
  return r;
}

// Runs `args` followed by a timeout argument, in slices, until a non-nil reply or `timeout`
// (std::nullopt: forever). Returns std::nullopt when the time ran out.
inline std::optional<Reply> blocking(StateStore& store, std::vector<std::string_view> args,
                                     std::optional<std::chrono::milliseconds> timeout) {
  const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                : std::chrono::steady_clock::time_point::max();
  args.emplace_back();
  for (;;) {
    auto slice = kBlockingSlice;
    if (timeout) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds::zero()) return std::nullopt;
      slice = std::min(slice, left);
    }
    const std::string secs = seconds_text(slice);
    args.back() = secs;
    Reply r = run_checked(store, args, slice + kBlockingMargin);
    if (!r.is_nil()) return r;
  }
}

}  // namespace lithops::sdk
