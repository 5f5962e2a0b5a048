// liblithops_pipe_nanomsg.so: direct TCP pipes (NNG PAIR sockets) with a Redis rendezvous.
#include "lithops/sdk/plugin.hpp"

#include "nanomsg_transport.hpp"

namespace {
using lithops::sdk::ConfigType;
// nanomsg_config.cpp checks the values further (engine names, port_max >= port_min).
const lithops::sdk::ConfigSchema kSchema{
    "nanomsg",
    "direct TCP pipes between the two processes, a Redis rendezvous",
    {{"engine", ConfigType::kString, "\"direct\" or \"nng\"", "direct"},
     {"ipc", ConfigType::kBool, "Unix sockets when both ends share a host", "true"},
     {"host", ConfigType::kString, "address published for the peer", "127.0.0.1"},
     {"bind", ConfigType::kString, "address to listen on", "host"},
     {"port_min", ConfigType::kInteger, "lowest listening port (0: any)", "0", 0, 65535},
     {"port_max", ConfigType::kInteger, "highest listening port", "port_min", 0, 65535},
     {"connect_timeout", ConfigType::kNumber, "seconds to reach the peer", "30", 0, {}},
     {"send_timeout", ConfigType::kNumber, "seconds a send may wait", "60", 0, {}},
     {"linger", ConfigType::kNumber, "seconds close() flushes", "10", 0, {}}}};
}  // namespace

LITHOPS_PIPE_TRANSPORT_PLUGIN("nanomsg", lithops::plugins::nanomsg::NanomsgTransport)
LITHOPS_PLUGIN_CONFIG(kSchema)
