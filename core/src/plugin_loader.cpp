#include "plugin_loader.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include "lithops/multiprocessing/errors.hpp"
#include "lithops/sdk/errors.hpp"
#include "lithops/sdk/plugin.hpp"

namespace lithops::multiprocessing::detail {
namespace fs = std::filesystem;

namespace {

std::string file_name(const std::string& kind, const std::string& name) {
  return "liblithops_" + kind + "_" + name + ".so";
}

// Loaded libraries, never unloaded: objects they created may live until process exit.
std::mutex& libs_mutex() {
  static std::mutex m;
  return m;
}
std::map<fs::path, boost::dll::shared_library>& libs() {
  static auto* l = new std::map<fs::path, boost::dll::shared_library>();
  return *l;
}

std::string search_path_text() {
  std::ostringstream out;
  for (const auto& dir : plugin_search_path()) out << "\n  " << dir.string();
  return out.str();
}

}  // namespace

std::vector<std::string> plugin_names(const std::string& kind) {
  std::vector<std::string> names;
  const std::string prefix = "liblithops_" + kind + "_";
  for (const auto& dir : plugin_search_path()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      auto f = entry.path().filename().string();
      if (f.starts_with(prefix) && f.ends_with(".so")) {
        auto n = f.substr(prefix.size(), f.size() - prefix.size() - 3);
        if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
      }
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string unknown_plugin_message(const std::string& kind, const std::string& name,
                                   const std::string& what) {
  std::ostringstream msg;
  msg << (what.empty() ? "unknown " + kind + " plugin" : what) << " '" << name << "'; available: ";
  auto names = plugin_names(kind);
  if (names.empty()) msg << "(none)";
  for (std::size_t i = 0; i < names.size(); ++i) msg << (i ? ", " : "") << names[i];
  msg << ". Looked for " << file_name(kind, name) << " in:" << search_path_text()
      << "\nSet LITHOPS_PLUGIN_PATH to the directory that holds it, or fix the name in the config.";
  return msg.str();
}

namespace {

// The name a plugin file stands for: liblithops_<kind>_<name>.so -> <name>.
std::string name_from_file(const fs::path& file, const std::string& kind) {
  const std::string f = file.filename().string();
  const std::string prefix = "liblithops_" + kind + "_";
  if (f.starts_with(prefix) && f.ends_with(".so") && f.size() > prefix.size() + 3) {
    return f.substr(prefix.size(), f.size() - prefix.size() - 3);
  }
  return {};
}

// `name`: the name the plugin was asked for ("" = whatever its file name says).
boost::dll::shared_library& load(const fs::path& file, const std::string& kind,
                                 const std::string& name) {
  std::lock_guard lock(libs_mutex());
  auto it = libs().find(file);
  if (it != libs().end()) return it->second;
  boost::dll::shared_library lib;
  try {
    lib.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw ConfigError("cannot load plugin " + file.string() + ": " + e.what() +
                      "; rebuild it against this Lithops SDK or remove it from the plugin path");
  }
  if (!lib.has("lithops_plugin_abi_version")) {
    throw ConfigError("plugin " + file.string() +
                      " does not export lithops_plugin_abi_version: it was not built with the "
                      "Lithops SDK plugin macros (lithops/sdk/plugin.hpp)");
  }
  const auto abi = lib.get_alias<sdk::AbiFn>("lithops_plugin_abi_version")();
  if (abi != sdk::kAbiVersion) {
    throw ConfigError("plugin " + file.string() + " was built for SDK ABI version " +
                      std::to_string(abi) + " but this Lithops expects ABI version " +
                      std::to_string(sdk::kAbiVersion) +
                      "; rebuild the plugin against the installed Lithops SDK");
  }
  const std::string actual_kind = lib.get_alias<sdk::StringFn>("lithops_plugin_kind")();
  if (actual_kind != kind) {
    throw ConfigError("plugin " + file.string() + " is a '" + actual_kind + "' plugin, not '" +
                      kind + "'");
  }
  // One name: the one asked for, the file's and the exported one must agree, or a worker started
  // under one name would look for another (issue 25: such a worker exits at once, forever).
  const std::string exported = lib.get_alias<sdk::StringFn>("lithops_plugin_name")();
  const std::string from_file = name_from_file(file, kind);
  const std::string& wanted = name.empty() ? from_file : name;
  if ((!wanted.empty() && exported != wanted) || (!from_file.empty() && exported != from_file)) {
    throw ConfigError("plugin " + file.string() + " exports the name '" + exported +
                      "' but was loaded as '" + wanted + "' (from its file name liblithops_" +
                      kind + "_" + (from_file.empty() ? wanted : from_file) +
                      ".so); the name in its LITHOPS_*_PLUGIN(...) macro, its file name and the "
                      "configured name must be the same: rename the file (CMake NAME) or fix "
                      "the macro");
  }
  return libs().emplace(file, std::move(lib)).first->second;
}

std::optional<fs::path> locate(const std::string& kind, const std::string& name) {
  const auto fname = file_name(kind, name);
  for (const auto& dir : plugin_search_path()) {
    auto candidate = dir / fname;
    std::error_code ec;
    if (fs::exists(candidate, ec)) return candidate;
  }
  return std::nullopt;
}

struct Found {
  boost::dll::shared_library* lib;
  fs::path file;
};

Found find(const std::string& kind, const std::string& name) {
  if (auto file = locate(kind, name)) return {&load(*file, kind, name), *file};
  throw ConfigError(unknown_plugin_message(kind, name, ""));
}

template <class Factory>
auto create_from(const Found& found, const std::string& kind, const std::string& name,
                 const char* symbol, const sdk::PluginContext& ctx) {
  auto& lib = *found.lib;
  if (!lib.has(symbol)) {
    throw ConfigError("plugin '" + name + "' (" + kind + ") does not export " + symbol);
  }
  sdk::PluginContext named = ctx;
  named.plugin_name = name;
  named.plugin_file = found.file.string();
  try {
    return lib.get_alias<Factory>(symbol)(named);
  } catch (const sdk::PluginError& e) {
    throw ConfigError(e.what());
  }
}

template <class Factory>
auto create(const std::string& kind, const std::string& name, const char* symbol,
            const sdk::PluginContext& ctx) {
  return create_from<Factory>(find(kind, name), kind, name, symbol, ctx);
}

}  // namespace

std::vector<fs::path> plugin_search_path() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("LITHOPS_PLUGIN_PATH")) {
    std::string s = env;
    std::size_t start = 0;
    while (start <= s.size()) {
      auto end = s.find(':', start);
      if (end == std::string::npos) end = s.size();
      if (end > start) dirs.emplace_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  std::error_code ec;
  auto self = boost::dll::this_line_location(ec);
  if (!ec) dirs.push_back(self.parent_path() / LITHOPS_PLUGIN_INSTALL_SUBDIR);
  auto exe = boost::dll::program_location(ec);
  if (!ec) dirs.push_back(exe.parent_path() / "plugins");
  dirs.emplace_back(LITHOPS_PLUGIN_BUILD_DIR);
  return dirs;
}

void check_plugin_file(const fs::path& file, const std::string& kind) { load(file, kind, ""); }

bool plugin_exists(const std::string& kind, const std::string& name) {
  return locate(kind, name).has_value();
}

PluginSchema plugin_schema(const std::string& name) {
  for (const char* kind : {"executor", "state", "pipe"}) {
    auto file = locate(kind, name);
    if (!file) continue;
    auto& lib = load(*file, kind, name);
    PluginSchema out;
    out.kind = kind;
    if (lib.has("lithops_plugin_config_schema")) {
      out.schema = lib.get_alias<sdk::ConfigSchemaFn>("lithops_plugin_config_schema")();
    }
    return out;
  }
  return {};
}

std::unique_ptr<sdk::WorkerRuntime> create_worker_runtime_from(const fs::path& file,
                                                               const std::string& name,
                                                               const sdk::PluginContext& ctx) {
  Found found{&load(file, "executor", name), file};
  return create_from<sdk::WorkerRuntimeFactory>(found, "executor", name,
                                                "lithops_create_worker_runtime", ctx);
}

std::vector<PluginFile> scan_plugin_files() {
  // Probed libraries stay loaded, as the loader's do: unloading code that may have started
  // something (a static, a thread) is not safe.
  static std::mutex probes_mutex;
  static auto* probes = new std::vector<boost::dll::shared_library>();
  std::vector<PluginFile> out;
  std::map<std::string, fs::path> first;  // "kind/name" -> the file that wins
  for (const auto& dir : plugin_search_path()) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const auto f = entry.path().filename().string();
      if (f.starts_with("liblithops_") && f.ends_with(".so")) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
      PluginFile p;
      p.file = path;
      const auto stem = path.filename().string();
      const auto body = stem.substr(11, stem.size() - 14);  // between "liblithops_" and ".so"
      const auto sep = body.find('_');
      if (sep == std::string::npos) continue;  // liblithops_multiprocessing.so, not a plugin
      p.kind = body.substr(0, sep);
      p.name = body.substr(sep + 1);
      if (p.kind != "executor" && p.kind != "state" && p.kind != "pipe") continue;
      const auto [it, fresh] = first.emplace(p.kind + "/" + p.name, path);
      if (!fresh) p.shadowed_by = it->second.string();
      try {
        boost::dll::shared_library lib(
            path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
        if (!lib.has("lithops_plugin_abi_version") || !lib.has("lithops_plugin_kind") ||
            !lib.has("lithops_plugin_name")) {
          p.problem =
              "does not export lithops_plugin_abi_version/kind/name: not built with the Lithops "
              "SDK plugin macros (lithops/sdk/plugin.hpp)";
        } else {
          p.abi = lib.get_alias<sdk::AbiFn>("lithops_plugin_abi_version")();
          const std::string kind = lib.get_alias<sdk::StringFn>("lithops_plugin_kind")();
          const std::string name = lib.get_alias<sdk::StringFn>("lithops_plugin_name")();
          if (p.abi != static_cast<long long>(sdk::kAbiVersion)) {
            p.problem = "ABI mismatch: built for SDK ABI version " + std::to_string(p.abi) +
                        ", this Lithops expects " + std::to_string(sdk::kAbiVersion) +
                        "; rebuild it against the installed SDK";
          } else if (kind != p.kind || name != p.name) {
            p.problem = "the file name says " + p.kind + " '" + p.name + "' but the plugin is " +
                        kind + " '" + name + "'; rename the file";
          }
        }
        std::lock_guard lock(probes_mutex);
        probes->push_back(std::move(lib));
      } catch (const std::exception& e) {
        // dlopen's own words: a missing library, an undefined symbol, not an ELF file.
        std::string why = e.what();
        constexpr std::string_view kMarker = "dlerror system message: ";
        if (const auto at = why.find(kMarker); at != std::string::npos) {
          const auto end = why.rfind("): ");
          why = why.substr(at + kMarker.size(), end != std::string::npos && end > at
                                                    ? end - at - kMarker.size()
                                                    : std::string::npos);
        }
        p.problem = "cannot load: " + why;
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::unique_ptr<sdk::Executor> create_executor(const std::string& name,
                                               const sdk::PluginContext& ctx) {
  return create<sdk::ExecutorFactory>("executor", name, "lithops_create_executor", ctx);
}
std::unique_ptr<sdk::WorkerRuntime> create_worker_runtime(const std::string& name,
                                                          const sdk::PluginContext& ctx) {
  return create<sdk::WorkerRuntimeFactory>("executor", name, "lithops_create_worker_runtime", ctx);
}
std::unique_ptr<sdk::StateStore> create_state_store(const std::string& name,
                                                    const sdk::PluginContext& ctx) {
  return create<sdk::StateStoreFactory>("state", name, "lithops_create_state_store", ctx);
}
std::unique_ptr<sdk::PipeTransport> create_pipe_transport(const std::string& name,
                                                          const sdk::PluginContext& ctx) {
  return create<sdk::PipeTransportFactory>("pipe", name, "lithops_create_pipe_transport", ctx);
}

}  // namespace lithops::multiprocessing::detail
