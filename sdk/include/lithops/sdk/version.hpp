// SDK ABI version. A plugin records the version it was built against; the loader refuses a plugin
// whose version differs from its own, before calling anything else in it.
//
// Bump kAbiVersion whenever a virtual function, a struct passed across the boundary, or the meaning
// of a call changes (see docs/plugin-sdk.md, "ABI policy").
#pragma once

#include <cstdint>

namespace lithops::sdk {

// 2: Executor::wait_released; 3: StateStore::execute_pipeline_into;
// 4: ExecutorListener::on_invocation_ended, PluginContext::plugin_name and plugin_file, the
// exported configuration schema (config_schema.hpp).
inline constexpr std::uint32_t kAbiVersion = 4;

}  // namespace lithops::sdk
