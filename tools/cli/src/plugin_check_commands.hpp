// `lithops plugin check NAME` (plugin_check_commands.cpp).
#pragma once

namespace CLI {
class App;
}

namespace lithops::cli {
class CliContext;
void add_plugin_commands(CLI::App& app, CliContext& context);
}  // namespace lithops::cli
