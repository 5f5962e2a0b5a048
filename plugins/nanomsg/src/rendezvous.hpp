// What both engines of the nanomsg transport share: the Redis rendezvous scripts and the
// messages of the errors a user sees.
#pragma once

#include <chrono>
#include <string>

#include "lithops/sdk/blocking.hpp"

namespace lithops::plugins::nanomsg {

// The Redis keys of one end's rendezvous (see nanomsg_transport.hpp), all under the pipe id.
struct RendezvousKeys {
  RendezvousKeys(const std::string& pipe_id, int end)
      : listener(pipe_id + ":nn:listener"),
        addr(pipe_id + ":nn:addr"),
        ipc(pipe_id + ":nn:ipc"),
        eof(pipe_id + ":nn:eof" + std::to_string(end)),
        peer_eof(pipe_id + ":nn:eof" + std::to_string(1 - end)) {}
  const std::string listener;  // which end listens
  const std::string addr;      // the listener's TCP URL (a one-element list)
  const std::string ipc;       // the listener's Unix socket path, same host only (direct engine)
  const std::string eof;       // this end closed
  const std::string peer_eof;  // the other end closed
};

// The first end to be used listens; the other dials. An end whose peer already closed (before
// this end connected) gets EOF at once.
// KEYS: listener, peer's eof flag. ARGV: this end, expiry seconds.
inline constexpr const char* kClaimScript = R"lua(
if redis.call('EXISTS', KEYS[2]) == 1 then return 'eof' end
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 'listen'
end
if cur == ARGV[1] then return 'listen' end
return 'dial'
)lua";

// Runs kClaimScript for end `end`: "listen", "dial", or "eof" (the peer closed before we came).
inline std::string claim_role(sdk::StateStore& store, const RendezvousKeys& keys, int end,
                              const std::string& expiry) {
  return sdk::run_checked(store, {"EVAL", kClaimScript, "2", keys.listener, keys.peer_eof,
                                  std::to_string(end), expiry})
      .str;
}

// Closing an end that never connected in this process: if the peer listens, it may be waiting in
// recv, so dial it to deliver the close marker; otherwise leave the EOF flag for it to find.
// KEYS: listener, this end's eof flag. ARGV: this end, expiry seconds.
inline constexpr const char* kCloseUnattachedScript = R"lua(
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 'dial' end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
return 'flagged'
)lua";

inline std::string seconds_text(std::chrono::milliseconds d) {
  return std::to_string(d.count() / 1000.0).substr(0, 6) + " s";
}

inline std::string tcp_url(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return "tcp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// The ConnectionError text for a peer that cannot be reached (names the redislist fallback).
inline std::string unreachable_text(const std::string& where, const std::string& why) {
  return where + ": cannot reach the other end: " + why +
         ". The ends of a nanomsg pipe connect to each other directly over TCP (config section "
         "'nanomsg': host, bind, port_min/port_max, connect_timeout); if the processes cannot "
         "reach each other, set mp::config PIPE_CONNECTION_TYPE to \"redislist\" to carry the "
         "messages through Redis instead";
}

}  // namespace lithops::plugins::nanomsg
