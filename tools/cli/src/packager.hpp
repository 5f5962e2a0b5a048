// Packaging a program as a Lambda custom runtime, as aws-lambda-cpp's packager does: the program,
// the shared libraries it links (found by the dynamic loader, through ldd), the dynamic loader
// itself, and a `bootstrap` that runs the program with that loader and those libraries (patchelf
// sets the program's ELF interpreter and RPATH), so the package runs on any Lambda Linux whatever
// its own library versions. Lithops plugins are
// dlopen'd, so ldd cannot see them: they are copied to bin/plugins with their own dependencies.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lithops::cli {

struct PackageOptions {
  std::filesystem::path executable;
  std::filesystem::path output;                     // the zip to write
  std::vector<std::filesystem::path> plugin_files;  // liblithops_*.so to include
  bool strip_debug = false;                         // strip --strip-debug every ELF file copied
};

struct PackageReport {
  std::uintmax_t zip_bytes = 0;
  std::uintmax_t unpacked_bytes = 0;
  std::vector<std::string> entries;  // paths inside the zip
};

// Lambda's quotas for a directly uploaded zip and for the unpacked function.
constexpr std::uintmax_t kMaxDirectUploadBytes = 50u * 1024 * 1024;
constexpr std::uintmax_t kMaxUnpackedBytes = 250u * 1024 * 1024;

// Builds the zip. Throws CliError when a library cannot be found or a file cannot be read.
PackageReport build_package(const PackageOptions& options);

// The plugins found in `dirs` (the first file of each name wins), optionally only `names` given
// as "<kind>_<name>" (executor_aws_lambda, state_redis, ...).
std::vector<std::filesystem::path> find_plugins(const std::vector<std::filesystem::path>& dirs,
                                                const std::vector<std::string>& names);

}  // namespace lithops::cli
