// The plugin's exports: liblithops_state_redis.so provides the "redis" state store.
#include "lithops/sdk/plugin.hpp"
#include "redis_store.hpp"

using lithops::plugins::redis::RedisStore;

LITHOPS_STATE_STORE_PLUGIN("redis", RedisStore)
