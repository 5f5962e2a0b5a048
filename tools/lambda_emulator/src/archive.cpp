#include "archive.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace lithops::emulator {

void extract_zip(std::string_view data, const std::filesystem::path& target) {
  const auto dir = std::filesystem::absolute(target);
  std::unique_ptr<archive, decltype(&archive_read_free)> in(archive_read_new(), archive_read_free);
  std::unique_ptr<archive, decltype(&archive_write_free)> out(archive_write_disk_new(),
                                                              archive_write_free);
  archive_read_support_format_zip(in.get());
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  auto fail = [](archive* a, const char* what) {
    const char* msg = archive_error_string(a);
    throw std::runtime_error(std::string(what) + ": " + (msg ? msg : "unknown error"));
  };
  if (archive_read_open_memory(in.get(), data.data(), data.size()) != ARCHIVE_OK) {
    fail(in.get(), "not a zip archive");
  }
  archive_entry* entry = nullptr;
  for (;;) {
    const int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) fail(in.get(), "reading the zip");
    const std::string name = archive_entry_pathname(entry);
    // Entries are rebased under `dir` (an absolute path), so absolute entry names are refused
    // here rather than by libarchive's NOABSOLUTEPATHS, which would refuse `dir` itself.
    if (name.empty() || name.front() == '/') {
      throw std::runtime_error("zip entry '" + name + "' has an absolute path");
    }
    archive_entry_set_pathname(entry, (dir / name).c_str());
    if (archive_write_header(out.get(), entry) != ARCHIVE_OK) fail(out.get(), name.c_str());
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
      const int rb = archive_read_data_block(in.get(), &block, &size, &offset);
      if (rb == ARCHIVE_EOF) break;
      if (rb != ARCHIVE_OK) fail(in.get(), name.c_str());
      if (archive_write_data_block(out.get(), block, size, offset) != ARCHIVE_OK) {
        fail(out.get(), name.c_str());
      }
    }
    if (archive_write_finish_entry(out.get()) != ARCHIVE_OK) fail(out.get(), name.c_str());
  }
}

}  // namespace lithops::emulator
