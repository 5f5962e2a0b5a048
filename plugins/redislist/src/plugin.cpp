// liblithops_pipe_redislist.so: the default pipe transport.
#include "lithops/sdk/plugin.hpp"
#include "redislist_transport.hpp"

LITHOPS_PIPE_TRANSPORT_PLUGIN("redislist", lithops::plugins::redislist::RedisListTransport)
