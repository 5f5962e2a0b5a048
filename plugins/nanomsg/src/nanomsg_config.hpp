// The `nanomsg` config section.
#pragma once

#include <chrono>
#include <string>

#include <boost/json/object.hpp>

namespace lithops::plugins::nanomsg {

// Which implementation carries the messages (key `engine`): "direct" speaks NNG's PAIR v1 wire
// protocol over TCP itself, on the calling thread; "nng" uses libnng's PAIR v1 sockets.
enum class Engine { kDirect, kNng };

struct Options {
  Engine engine = Engine::kDirect;
  bool ipc = true;                 // direct engine: same-host peers connect over a Unix socket
  std::string host = "127.0.0.1";  // address published for the peer to dial
  std::string bind;                // address to listen on; empty: host
  int port_min = 0;                // 0: an ephemeral port
  int port_max = 0;
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds send_timeout{60000};
  std::chrono::milliseconds linger{10000};
};

// Reads the section (null or missing keys: defaults). sdk::ConfigError names a key of the wrong
// type or range.
Options parse_options(const boost::json::object* section);

}  // namespace lithops::plugins::nanomsg
