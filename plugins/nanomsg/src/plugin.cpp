// liblithops_pipe_nanomsg.so: direct TCP pipes (NNG PAIR sockets) with a Redis rendezvous.
#include "lithops/sdk/plugin.hpp"
#include "nanomsg_transport.hpp"

LITHOPS_PIPE_TRANSPORT_PLUGIN("nanomsg", lithops::plugins::nanomsg::NanomsgTransport)
