// `lithops plugins`: every plugin file on the search path (the core's plugin_search_path(), the
// one reader of $LITHOPS_PLUGIN_PATH) with its kind, name, ABI version and file, and for each
// one that cannot load, the reason (ABI mismatch, missing symbol, missing library). Exit status
// 3 when one of them cannot load, so scripts can check a plugin directory.
#include <CLI/CLI.hpp>
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli_context.hpp"
#include "lithops/sdk/plugin.hpp"
#include "plugin_loader.hpp"

namespace lithops::cli {

namespace mpd = lithops::multiprocessing::detail;

namespace {

int list_plugins(bool show_path) {
  const auto dirs = mpd::plugin_search_path();
  if (show_path) {
    std::cout << "Search path (first file of a kind and name wins):\n";
    for (const auto& d : dirs) std::cout << "  " << d.string() << "\n";
  }
  const auto files = mpd::scan_plugin_files();
  if (files.empty()) {
    std::cout << "No plugins found. Set LITHOPS_PLUGIN_PATH to the directory that holds "
                 "liblithops_<kind>_<name>.so files.\n";
    return kExitBroken;
  }
  std::cout << std::left << std::setw(9) << "KIND" << std::setw(16) << "NAME" << std::setw(5)
            << "ABI" << std::setw(8) << "STATUS"
            << "FILE\n";
  int broken = 0;
  for (const auto& p : files) {
    const std::string status = !p.problem.empty()       ? "BROKEN"
                               : !p.shadowed_by.empty() ? "unused"
                                                        : "ok";
    std::cout << std::setw(9) << p.kind << std::setw(16) << p.name << std::setw(5)
              << (p.abi < 0 ? std::string("?") : std::to_string(p.abi)) << std::setw(8) << status
              << p.file.string() << "\n";
    if (!p.problem.empty()) {
      std::cout << "    reason: " << p.problem << "\n";
      ++broken;
    }
    if (!p.shadowed_by.empty()) std::cout << "    shadowed by " << p.shadowed_by << "\n";
  }
  std::cout << files.size() << " plugin files, " << broken << " cannot load (this Lithops: ABI "
            << sdk::kAbiVersion << ")\n";
  return broken > 0 ? kExitBroken : 0;
}

}  // namespace

void add_plugins_commands(CLI::App& app, CliContext& context) {
  auto* cmd = app.add_subcommand("plugins",
                                 "list the plugins on the search path and why any "
                                 "cannot load");
  cmd->footer(
      "Examples:\n"
      "  lithops plugins\n"
      "  LITHOPS_PLUGIN_PATH=$HOME/my-plugins lithops plugins --path\n"
      "Exit status: 0 all load, 3 one or more cannot load (or none found).");
  auto show_path = std::make_shared<bool>(false);
  cmd->add_flag("--path", *show_path, "print the search path first");
  cmd->callback([&context, show_path] { context.exit_code = list_plugins(*show_path); });
}

}  // namespace lithops::cli
