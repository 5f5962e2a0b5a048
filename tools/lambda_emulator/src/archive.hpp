// Unpacking a deployment package.
#pragma once

#include <filesystem>
#include <string_view>

namespace lithops::emulator {

// Extracts the zip in `data` into `dir`, keeping Unix permissions (bootstrap must stay
// executable). Entries with absolute paths or ".." are refused, as are symlinks leading out.
// Throws std::runtime_error with libarchive's message.
void extract_zip(std::string_view data, const std::filesystem::path& dir);

}  // namespace lithops::emulator
