// Helpers for plugins that keep state in the StateStore (pipe transports): a command whose error
// reply throws, and a blocking command with a deadline. Header-only; not part of the ABI.
//
// The policy is the core's: long waits are cut into slices so a lost server surfaces as an error
// instead of a hang, and each call bounds its client-side wait by the slice plus a margin (or the
// common command timeout, if longer).
#pragma once

#include <algorithm>
#include <chrono>
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
// Whole milliseconds, at least one; no printf floats (every blocking wait formats one).
inline std::string seconds_text(std::chrono::milliseconds d) {
  const long long ms = std::max<long long>(d.count(), 1);
  const auto frac = static_cast<int>(ms % 1000);
  std::string out = std::to_string(ms / 1000);
  out += '.';
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
  return out;
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
    // The socket timeout only has to outlast the server's; keeping the common one spares a
    // setsockopt pair around every blocking command.
    Reply r = run_checked(store, args, std::max(kCommandTimeout, slice + kBlockingMargin));
    if (!r.is_nil()) return r;
  }
}

}  // namespace lithops::sdk
