// Finds plugins on the search path and creates their objects.
//
// Search path, in order: $LITHOPS_PLUGIN_PATH (colon-separated), <dir of this
// library>/lithops/plugins (the install layout: <prefix>/lib/liblithops_multiprocessing.so +
// <prefix>/lib/lithops/plugins), <dir of the executable>/plugins (a packaged runtime), and the
// build tree. The first file named liblithops_<kind>_<name>.so wins. Libraries stay loaded for the
// life of the process.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lithops/sdk/config_schema.hpp"
#include "lithops/sdk/executor.hpp"
#include "lithops/sdk/pipe_transport.hpp"
#include "lithops/sdk/plugin_context.hpp"
#include "lithops/sdk/state_store.hpp"

namespace lithops::multiprocessing::detail {

// The one place that reads $LITHOPS_PLUGIN_PATH: the loader and the `lithops` CLI both use it.
std::vector<std::filesystem::path> plugin_search_path();

// A plugin file found on the search path, as `lithops plugins` lists it.
struct PluginFile {
  std::string kind;  // "executor", "state" or "pipe" (from the file name)
  std::string name;  // from the file name
  std::filesystem::path file;
  long long abi = -1;       // the ABI version it was built for; -1 when it could not say
  std::string problem;      // why it cannot load (empty: it loads)
  std::string shadowed_by;  // an earlier file of the same kind and name wins (it is not used)
};
// Every liblithops_<kind>_<name>.so on the search path, in search order. Each one is loaded to
// read its ABI version, kind and name (and stays loaded); none is created.
std::vector<PluginFile> scan_plugin_files();

// kind: "executor", "state" or "pipe". Throws mp::ConfigError for an unknown name (listing the
// plugins of that kind that exist and the path searched), a file that fails to load, or an ABI
// version mismatch.
std::unique_ptr<sdk::Executor> create_executor(const std::string& name,
                                               const sdk::PluginContext& ctx);
std::unique_ptr<sdk::WorkerRuntime> create_worker_runtime(const std::string& name,
                                                          const sdk::PluginContext& ctx);
std::unique_ptr<sdk::StateStore> create_state_store(const std::string& name,
                                                    const sdk::PluginContext& ctx);
std::unique_ptr<sdk::PipeTransport> create_pipe_transport(const std::string& name,
                                                          const sdk::PluginContext& ctx);

// Loads a plugin file directly (tests, diagnostics) and checks its ABI version, kind and that its
// exported name is the one its file name says.
void check_plugin_file(const std::filesystem::path& file, const std::string& kind);

// The names of the plugins of a kind on the search path (from their file names), sorted.
std::vector<std::string> plugin_names(const std::string& kind);
bool plugin_exists(const std::string& kind, const std::string& name);
// "unknown <kind> plugin 'x'; available: a, b. Looked for ... in: ..." (`what` replaces
// "unknown <kind> plugin").
std::string unknown_plugin_message(const std::string& kind, const std::string& name,
                                   const std::string& what);

// The plugin named `name` (of any kind) and its configuration declaration: kind empty when no
// plugin has that name; schema null when it declares none. Loads the plugin (and may throw as
// create_* does).
struct PluginSchema {
  std::string kind;
  const sdk::ConfigSchema* schema = nullptr;
};
PluginSchema plugin_schema(const std::string& name);

// A worker's runtime from the very file the driver loaded (LITHOPS_WORKER_PLUGIN_FILE).
std::unique_ptr<sdk::WorkerRuntime> create_worker_runtime_from(const std::filesystem::path& file,
                                                               const std::string& name,
                                                               const sdk::PluginContext& ctx);

}  // namespace lithops::multiprocessing::detail
