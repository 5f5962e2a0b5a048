// Errors a plugin reports to the core. The core turns them into user-facing multiprocessing errors.
#pragma once

#include <stdexcept>
#include <string>

namespace lithops::sdk {

// Base of every error a plugin throws. The message must name the problem and the fix.
class PluginError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The backend could not be reached or refused the credentials (Redis down, wrong password, ...).
class ConnectionError : public PluginError {
 public:
  using PluginError::PluginError;
};

// The configuration given to the plugin is invalid (wrong type, missing key, unknown value).
class ConfigError : public PluginError {
 public:
  using PluginError::PluginError;
};

// A pipe end was used after the peer closed it and nothing is left to read (EOFError in Python).
class PipeClosedError : public PluginError {
 public:
  using PluginError::PluginError;
};

}  // namespace lithops::sdk
