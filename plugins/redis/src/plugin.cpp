// The plugin's exports: liblithops_state_redis.so provides the "redis" state store.
#include "lithops/sdk/plugin.hpp"

#include "redis_store.hpp"

using lithops::plugins::redis::RedisStore;

namespace {
using lithops::sdk::ConfigType;
const lithops::sdk::ConfigSchema kSchema{
    "redis",
    "the Redis server holding the session's state (none: a private redis-server)",
    {{"host", ConfigType::kString, "server host", "127.0.0.1"},
     {"port", ConfigType::kInteger, "server port", "6379", 1, 65535},
     {"unix_socket", ConfigType::kString, "Unix socket path (instead of host/port)", ""},
     {"password", ConfigType::kString, "AUTH password", "", {}, {}, true},
     {"username", ConfigType::kString, "ACL user name", ""},
     {"db", ConfigType::kInteger, "database number", "0", 0, 1 << 20},
     {"pool_size", ConfigType::kInteger, "idle connections kept", "16", 0, 1 << 20},
     {"connect_timeout", ConfigType::kNumber, "seconds to connect", "5", 0, 86400},
     {"url", ConfigType::kString, "redis://, rediss:// (TLS) or unix:// URL", ""},
     {"password_file", ConfigType::kString, "file holding the password", ""},
     {"tls", ConfigType::kObject, "TLS: ca_file, cert_file, key_file, server_name, verify", ""}}};
}  // namespace

LITHOPS_STATE_STORE_PLUGIN("redis", RedisStore)
LITHOPS_PLUGIN_CONFIG(kSchema)
