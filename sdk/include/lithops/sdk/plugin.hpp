// Exporting a plugin.
//
// A plugin is a shared library named liblithops_<kind>_<name>.so placed on the plugin search path
// (LITHOPS_PLUGIN_PATH, then <prefix>/lib/lithops/plugins, then the build tree). It exports,
// through Boost.DLL aliases, its ABI version, its kind and name, and one factory per interface it
// provides. Use exactly one of the macros below, once, at global scope in one .cpp file of the
// plugin:
//
//   LITHOPS_EXECUTOR_PLUGIN("localhost", LocalExecutor, LocalWorkerRuntime)
//   LITHOPS_STATE_STORE_PLUGIN("redis", RedisStore)
//   LITHOPS_PIPE_TRANSPORT_PLUGIN("redislist", RedisListTransport)
//
// and, optionally, once, the declaration of its configuration section (config_schema.hpp):
//
//   LITHOPS_PLUGIN_CONFIG(kSchema)
//
// The name must be the one in the file name: the loader refuses liblithops_executor_a.so that
// exports "b", naming both.
//
// Each class is constructed from `const lithops::sdk::PluginContext&`. Constructors may throw
// lithops::sdk::ConfigError / ConnectionError with a message that names the problem and the fix.
// Plugins are never unloaded, so objects they create may be destroyed at any time.
#pragma once

#include <cstdint>
#include <memory>

#include <boost/dll/alias.hpp>

#include "lithops/sdk/config_schema.hpp"
#include "lithops/sdk/executor.hpp"
#include "lithops/sdk/pipe_transport.hpp"
#include "lithops/sdk/plugin_context.hpp"
#include "lithops/sdk/state_store.hpp"
#include "lithops/sdk/version.hpp"

// Overridable only so the loader's ABI check can be tested with a deliberately wrong version.
#ifndef LITHOPS_SDK_BUILD_ABI_VERSION
#define LITHOPS_SDK_BUILD_ABI_VERSION ::lithops::sdk::kAbiVersion
#endif

namespace lithops::sdk {
// Factory signatures the loader imports.
using AbiFn = std::uint32_t();
using StringFn = const char*();
using ExecutorFactory = std::unique_ptr<Executor>(const PluginContext&);
using WorkerRuntimeFactory = std::unique_ptr<WorkerRuntime>(const PluginContext&);
using StateStoreFactory = std::unique_ptr<StateStore>(const PluginContext&);
using PipeTransportFactory = std::unique_ptr<PipeTransport>(const PluginContext&);
using ConfigSchemaFn = const ConfigSchema*();
}  // namespace lithops::sdk

// The helpers live in an unnamed namespace: each plugin's copies stay private to it, so two
// plugins loaded into one process can never resolve to each other's functions. Only the
// Boost.DLL aliases are exported.
#define LITHOPS_PLUGIN_COMMON_(KIND, NAME)                                         \
  namespace {                                                                      \
  namespace lithops_plugin_export_ {                                               \
  std::uint32_t abi_version() { return LITHOPS_SDK_BUILD_ABI_VERSION; }            \
  const char* kind() { return KIND; }                                              \
  const char* name() { return NAME; }                                              \
  }                                                                                \
  }                                                                                \
  BOOST_DLL_ALIAS(lithops_plugin_export_::abi_version, lithops_plugin_abi_version) \
  BOOST_DLL_ALIAS(lithops_plugin_export_::kind, lithops_plugin_kind)               \
  BOOST_DLL_ALIAS(lithops_plugin_export_::name, lithops_plugin_name)

#define LITHOPS_EXECUTOR_PLUGIN(NAME, EXECUTOR, WORKER_RUNTIME)                     \
  LITHOPS_PLUGIN_COMMON_("executor", NAME)                                          \
  namespace {                                                                       \
  namespace lithops_plugin_export_ {                                                \
  std::unique_ptr<::lithops::sdk::Executor> create_executor(                        \
      const ::lithops::sdk::PluginContext& ctx) {                                   \
    return std::make_unique<EXECUTOR>(ctx);                                         \
  }                                                                                 \
  std::unique_ptr<::lithops::sdk::WorkerRuntime> create_worker_runtime(             \
      const ::lithops::sdk::PluginContext& ctx) {                                   \
    return std::make_unique<WORKER_RUNTIME>(ctx);                                   \
  }                                                                                 \
  }                                                                                 \
  }                                                                                 \
  BOOST_DLL_ALIAS(lithops_plugin_export_::create_executor, lithops_create_executor) \
  BOOST_DLL_ALIAS(lithops_plugin_export_::create_worker_runtime, lithops_create_worker_runtime)

#define LITHOPS_STATE_STORE_PLUGIN(NAME, STORE)                   \
  LITHOPS_PLUGIN_COMMON_("state", NAME)                           \
  namespace {                                                     \
  namespace lithops_plugin_export_ {                              \
  std::unique_ptr<::lithops::sdk::StateStore> create_state_store( \
      const ::lithops::sdk::PluginContext& ctx) {                 \
    return std::make_unique<STORE>(ctx);                          \
  }                                                               \
  }                                                               \
  }                                                               \
  BOOST_DLL_ALIAS(lithops_plugin_export_::create_state_store, lithops_create_state_store)

#define LITHOPS_PIPE_TRANSPORT_PLUGIN(NAME, TRANSPORT)                  \
  LITHOPS_PLUGIN_COMMON_("pipe", NAME)                                  \
  namespace {                                                           \
  namespace lithops_plugin_export_ {                                    \
  std::unique_ptr<::lithops::sdk::PipeTransport> create_pipe_transport( \
      const ::lithops::sdk::PluginContext& ctx) {                       \
    return std::make_unique<TRANSPORT>(ctx);                            \
  }                                                                     \
  }                                                                     \
  }                                                                     \
  BOOST_DLL_ALIAS(lithops_plugin_export_::create_pipe_transport, lithops_create_pipe_transport)

// The plugin's configuration declaration: SCHEMA is a `const lithops::sdk::ConfigSchema` with
// static storage duration (a global of the plugin).
#define LITHOPS_PLUGIN_CONFIG(SCHEMA)                                       \
  namespace {                                                               \
  namespace lithops_plugin_export_ {                                        \
  const ::lithops::sdk::ConfigSchema* config_schema() { return &(SCHEMA); } \
  }                                                                         \
  }                                                                         \
  BOOST_DLL_ALIAS(lithops_plugin_export_::config_schema, lithops_plugin_config_schema)
